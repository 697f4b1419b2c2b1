// The bytes of an audit log for the offline tool, in chunks: a plain file, stdin, or either
// gzip'd (audit.log.3.gz), recognised by its first two bytes.

import { closeSync, createReadStream, fstatSync, openSync, readSync } from 'node:fs';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

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
  const fd = openSync(path, 'r');
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
