// A large asciicast on disk for memory tests, written in 1 MiB pieces (never whole in memory).
import { createHash } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';

const MiB = 1024 * 1024;

/** Writes events of `row(n)` output until the file has about `size` bytes; returns digest and length. */
export function writeLargeCast(
  path: string,
  size: number,
  row: (n: number) => string,
): { sha256: string; bytes: number } {
  const fd = openSync(path, 'w');
  const hash = createHash('sha256');
  const put = (b: Buffer) => {
    writeSync(fd, b);
    hash.update(b);
    return b.length;
  };
  let bytes = put(Buffer.from('{"version":2,"width":80,"height":24,"timestamp":1795991385}\n'));
  for (let n = 0, t = 0; bytes < size; ) {
    let chunk = '';
    while (chunk.length < MiB) {
      n++;
      t += 0.013;
      chunk += `${JSON.stringify([Number(t.toFixed(6)), 'o', `${row(n)}\r\n`])}\n`;
    }
    bytes += put(Buffer.from(chunk));
  }
  closeSync(fd);
  return { sha256: hash.digest('hex'), bytes };
}
