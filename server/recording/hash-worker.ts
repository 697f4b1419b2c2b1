// The recordings' SHA-256, on a thread of its own (file-hasher.ts starts it): it reads back from
// each recording's file what the relay has already written there and hashes it. The relay's turn
// then costs one write(2) per event and no hashing; the page cache serves the read.
//
// Messages in, in order: {op:'upTo', files:[[fd, bytes]...]} (hash each file up to `bytes`) and
// {op:'finish', fd, bytes, ref} (hash up to `bytes`, answer {ref, sha256} or {ref, error}).
import { createHash, type Hash } from 'node:crypto';
import { readSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import type { HasherRequest, HasherResponse } from './file-hasher.ts';

const CHUNK = 1 << 20;
const chunk = Buffer.allocUnsafe(CHUNK);
const files = new Map<number, { hash: Hash; done: number; error?: string }>();

function catchUp(fd: number, upTo: number): void {
  let f = files.get(fd);
  if (!f) {
    f = { hash: createHash('sha256'), done: 0 };
    files.set(fd, f);
  }
  if (f.error) return;
  try {
    while (f.done < upTo) {
      const n = readSync(fd, chunk, 0, Math.min(CHUNK, upTo - f.done), f.done);
      if (n === 0) throw new Error(`the recording ends at ${f.done} bytes, ${upTo} were written`);
      f.hash.update(chunk.subarray(0, n));
      f.done += n;
    }
  } catch (err) {
    f.error = (err as Error).message;
  }
}

parentPort!.on('message', (m: HasherRequest) => {
  if (m.op === 'upTo') {
    for (const [fd, bytes] of m.files) catchUp(fd, bytes);
    return;
  }
  catchUp(m.fd, m.bytes);
  const f = files.get(m.fd)!;
  files.delete(m.fd);
  const answer: HasherResponse = f.error
    ? { ref: m.ref, error: f.error }
    : { ref: m.ref, sha256: f.hash.digest('hex') };
  parentPort!.postMessage(answer);
});
