// Reading a bundle's .tar.gz as a stream: members one after another, each body streamed as it is
// inflated, so verify never holds more than a chunk of a recording that may be GiBs (V8 cannot
// even make one string past 512 MiB). Headers are checked by readTarHeader, as readTar checks
// them, so a bundle reads the same in memory and streamed. No I/O: the caller hands in the bytes.
import { pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { AuditedExecError } from '../errors.ts';
import { readTarHeader, TAR_BLOCK } from './tar.ts';

export interface TarReadEntry {
  name: string;
  size: number;
  /** the member's bytes, exactly `size` of them; what is not read before the next entry is skipped */
  body: AsyncIterable<Uint8Array>;
}

/** GNU tar pads an archive to 10 KiB records after its end block; far more is not a bundle (and a
 *  gzip bomb hidden there would only burn the auditor's CPU). */
const TRAILER_LIMIT = 1024 * 1024;
const EMPTY = new Uint8Array(0);

/** The members of a .tar.gz, in archive order. Every error is an EVIDENCE_BUNDLE_UNREADABLE sentence
 *  starting "bundle:", except errors of `gz` itself (a failing read), which pass through as they are. */
export async function* readTarGzStream(
  gz: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
): AsyncGenerator<TarReadEntry> {
  const gunzip = createGunzip({ chunkSize: 64 * 1024 });
  // pipeline destroys gunzip with the source's error, so reading it throws that error; and stopping
  // early destroys the source. The callback's copy of the error is redundant.
  pipeline(gz, gunzip, () => {});
  yield* readTarStream(inflated(gunzip));
}

async function* inflated(gunzip: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  try {
    yield* gunzip;
  } catch (err) {
    // zlib's own errors carry codes Z_DATA_ERROR, Z_BUF_ERROR (cut short), …; the source's do not.
    if (!String((err as { code?: unknown }).code).startsWith('Z_')) throw err;
    throw new AuditedExecError(
      'EVIDENCE_BUNDLE_UNREADABLE',
      `bundle: not a readable .tar.gz (${String(err)})`,
    );
  }
}

/** The members of an uncompressed ustar stream. */
export async function* readTarStream(
  tar: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
): AsyncGenerator<TarReadEntry> {
  const source = Symbol.asyncIterator in tar ? tar[Symbol.asyncIterator]() : fromSync(tar);
  try {
    yield* members(new ByteStream(source));
  } finally {
    // A reader that stops early (it found its member, or gave up) releases the source: for a
    // .tar.gz that destroys gunzip, and pipeline then closes the file.
    await source.return?.();
  }
}

async function* fromSync(chunks: Iterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  yield* chunks;
}

async function* members(input: ByteStream): AsyncGenerator<TarReadEntry> {
  const seen = new Set<string>();
  for (;;) {
    const offset = input.offset;
    const h = await input.read(TAR_BLOCK);
    if (h.length < TAR_BLOCK) bad('bundle: tar archive ends without its end-of-archive blocks');
    const member = readTarHeader(h, offset, seen);
    if (!member) break;
    const { name, size } = member;
    if (!Number.isSafeInteger(size)) bad(`bundle: ${name}: truncated`);
    seen.add(name);
    const body = new MemberBody(input, name, size);
    yield { name, size, body };
    body.close();
    await input.skip(body.remaining, () => bad(`bundle: ${name}: truncated`));
    // A short final padding shows up as the missing end block, as readTar reports it.
    await input.skip((TAR_BLOCK - (size % TAR_BLOCK)) % TAR_BLOCK, () => {});
  }
  // Read to the end, so gzip checks its length and CRC: a damaged file says so.
  await input.skip(TRAILER_LIMIT, () => {});
  if ((await input.next(1)).length > 0) bad('bundle: more than 1 MiB of data after the tar archive ends');
}

/** One member's bytes, streamed from the archive while it is the current member. */
class MemberBody implements AsyncIterable<Uint8Array> {
  readonly #input: ByteStream;
  readonly #name: string;
  remaining: number;
  #closed = false;

  constructor(input: ByteStream, name: string, size: number) {
    this.#input = input;
    this.#name = name;
    this.remaining = size;
  }

  close(): void {
    this.#closed = true;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    while (this.remaining > 0) {
      // The archive has moved on: these bytes are another member's.
      if (this.#closed) throw new Error(`tar member ${this.#name} read after the next one was asked for`);
      const chunk = await this.#input.next(this.remaining);
      if (chunk.length === 0) bad(`bundle: ${this.#name}: truncated`);
      this.remaining -= chunk.length;
      yield chunk;
    }
  }
}

/** Pull-based reading of a chunked byte stream: views into its chunks, copied only to join them. */
class ByteStream {
  readonly #source: AsyncIterator<Uint8Array>;
  #buffered: Uint8Array = EMPTY;
  /** bytes handed out so far: where the next one sits in the archive */
  offset = 0;

  constructor(source: AsyncIterator<Uint8Array>) {
    this.#source = source;
  }

  /** Up to `max` bytes (at least one), or none at the end of the stream. */
  async next(max: number): Promise<Uint8Array> {
    while (this.#buffered.length === 0) {
      const r = await this.#source.next();
      if (r.done) return EMPTY;
      this.#buffered = r.value;
    }
    const out = this.#buffered.subarray(0, max);
    this.#buffered = this.#buffered.subarray(out.length);
    this.offset += out.length;
    return out;
  }

  /** Exactly `n` bytes, fewer only where the stream ends. */
  async read(n: number): Promise<Uint8Array> {
    const first = await this.next(n);
    if (first.length === n || first.length === 0) return first;
    const out = new Uint8Array(n);
    out.set(first);
    let at = first.length;
    while (at < n) {
      const more = await this.next(n - at);
      if (more.length === 0) return out.subarray(0, at);
      out.set(more, at);
      at += more.length;
    }
    return out;
  }

  /** Drops `n` bytes; `onEnd` runs if the stream ends first. */
  async skip(n: number, onEnd: () => void): Promise<void> {
    while (n > 0) {
      const chunk = await this.next(n);
      if (chunk.length === 0) return onEnd();
      n -= chunk.length;
    }
  }
}

function bad(message: string): never {
  throw new AuditedExecError('EVIDENCE_BUNDLE_UNREADABLE', message);
}
