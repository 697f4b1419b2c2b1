// The bytes of an audit log for the offline tool, in chunks: a plain file, stdin, or either
// gzip'd (audit.log.3.gz), recognised by its first two bytes. For parser workers, the same input as
// ParseJobs: a plain file as byte ranges each worker reads itself, anything else (stdin, a pipe,
// gzip) read here and cut at line ends.

import { closeSync, createReadStream, fstatSync, openSync, readSync } from 'node:fs';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { AuditedExecError } from '../common/errors.ts';
import type { ParseJob } from './parse-job.ts';

// The size createReadStream reads by default. A line is a slice of its chunk's string, so whatever
// keeps a substring of a line keeps the chunk, as it did under readline; bigger chunks gain little.
export const CHUNK_BYTES = 64 * 1024;

/** Chunks of `path` ('-': `stdin`), decompressed when gzip'd. A chunk is valid only until the next
 *  one is asked for: a plain file is read into one reused buffer. */
export async function* inputChunks(path: string, stdin: NodeJS.ReadableStream): AsyncGenerator<Buffer> {
  if (path === '-') {
    yield* decompressed(stdin as AsyncIterable<Buffer>);
    return;
  }
  // A plain file is read synchronously into one buffer: a stream allocates a fresh buffer per
  // chunk and hops through the thread pool, several times the CPU of the copy itself.
  const fd = openInput(path);
  let streamed = false;
  try {
    const isFile = fstatSync(fd).isFile();
    if (isFile) {
      const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
      let n = readSync(fd, buffer, 0, CHUNK_BYTES, null);
      if (!isGzip(buffer.subarray(0, n))) {
        for (; n > 0; n = readSync(fd, buffer, 0, CHUNK_BYTES, null)) yield buffer.subarray(0, n);
        return;
      }
    }
    // gzip, or a pipe or device: streamed from the same descriptor (a pipe cannot be opened anew).
    streamed = true;
    const stream = createReadStream(path, { fd, start: isFile ? 0 : undefined, highWaterMark: CHUNK_BYTES });
    yield* decompressed(stream);
  } finally {
    if (!streamed) closeSync(fd);
  }
}

function isGzip(head: Buffer): boolean {
  return head[0] === 0x1f && head[1] === 0x8b;
}

/** Peeks at the first chunk: gzip'd input is decompressed, anything else passed through. */
async function* decompressed(raw: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const it = raw[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done) return;
  const head = first.value;
  async function* all(): AsyncGenerator<Buffer> {
    yield head;
    for (let n = await it.next(); !n.done; n = await it.next()) yield n.value;
  }
  if (isGzip(head)) yield* Readable.from(all()).pipe(createGunzip({ chunkSize: CHUNK_BYTES }));
  else yield* all();
}

// Bytes per parse job: enough that a message per job costs nothing, small enough that the jobs
// in flight (2 per worker) and the batch being attributed stay a few MiB.
export const JOB_BYTES = 1024 * 1024;

/** The size of `path` when it is a plain file that is not gzip'd (one workers can read in
 *  ranges), else null. */
export function plainFileSize(path: string): number | null {
  const fd = openInput(path);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return null;
    const head = Buffer.alloc(2);
    return isGzip(head.subarray(0, readSync(fd, head, 0, 2, 0))) ? null : st.size;
  } finally {
    closeSync(fd);
  }
}

/** `inputs` in order as parse jobs of about `jobBytes` each. */
export async function* jobsOf(
  inputs: readonly string[],
  stdin: NodeJS.ReadableStream,
  jobBytes = JOB_BYTES,
): AsyncGenerator<ParseJob> {
  for (const path of inputs) {
    const size = path === '-' ? null : plainFileSize(path);
    if (size === null) {
      yield* streamJobs(inputChunks(path, stdin), jobBytes);
      continue;
    }
    for (let start = 0; start < size; start += jobBytes) {
      yield { kind: 'range', path, start, end: Math.min(size, start + jobBytes), size };
    }
  }
}

/** Chunks gathered into jobs of about `jobBytes`, each cut after its last \n; the rest of the
 *  input, whatever it ends with, is the last job. */
async function* streamJobs(chunks: AsyncIterable<Buffer>, jobBytes: number): AsyncGenerator<ParseJob> {
  let held: Buffer[] = [];
  let heldBytes = 0;
  for await (const chunk of chunks) {
    // Cut only in a chunk that has a line end: a line longer than a job is gathered, not rescanned.
    const end = heldBytes + chunk.length >= jobBytes ? chunk.lastIndexOf(0x0a) + 1 : 0;
    if (end === 0) {
      held.push(Buffer.from(chunk));
      heldBytes += chunk.length;
      continue;
    }
    held.push(chunk.subarray(0, end));
    // Concatenated into a buffer of its own: the job's bytes are handed over to the worker.
    yield { kind: 'bytes', bytes: new Uint8Array(Buffer.concat(held, heldBytes + end)), last: false };
    held = [Buffer.from(chunk.subarray(end))];
    heldBytes = chunk.length - end;
  }
  yield { kind: 'bytes', bytes: new Uint8Array(Buffer.concat(held, heldBytes)), last: true };
}

function openInput(path: string): number {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new AuditedExecError(
      'SHIM_INPUT',
      `Cannot read ${path} (${code}); give a readable audit log file or '-' for stdin.`,
    );
  }
  if (fstatSync(fd).isDirectory()) {
    closeSync(fd);
    throw new AuditedExecError(
      'SHIM_INPUT',
      `${path} is a directory; give the audit log files in it, oldest first.`,
    );
  }
  return fd;
}
