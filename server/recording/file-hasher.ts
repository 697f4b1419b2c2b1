// SHA-256 of the recordings, computed beside the relay instead of on its turn: the writer says how
// far each file has been written (write(2) done), the hash thread (hash-worker.ts) reads that back
// and hashes it, and the digest is asked for once, at close. One thread for every recording of the
// process. Telling it is not free (a message costs ~50 µs on a loaded machine, as much as hashing
// 100 KiB), so the updates go as one message per 4 MiB written or every 100 ms, whichever first:
// the thread is never more than that behind, and close() sends the rest.

import { createHash } from 'node:crypto';
import { read } from 'node:fs';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';

export type HasherRequest =
  | { op: 'upTo'; files: [fd: number, bytes: number][] }
  | { op: 'finish'; fd: number; bytes: number; ref: number };

export type HasherResponse = { ref: number; sha256: string } | { ref: number; error: string };

const readAsync = promisify(read);
/** Written bytes not yet told to the thread that make it worth a message now. */
const SEND_BYTES = 4 << 20;
const SEND_MS = 100;
const WORKER_URL = new URL(
  import.meta.url.endsWith('.ts') ? './hash-worker.ts' : './hash-worker.js',
  import.meta.url,
);

interface Waiting {
  resolve: (sha256: string) => void;
  reject: (err: Error) => void;
}

export class FileHasher {
  #worker: Worker | null = null;
  /** fd → bytes written, not yet sent to the thread. */
  readonly #pending = new Map<number, number>();
  /** Bytes written since the last message (all files). */
  #unsent = 0;
  #timer: NodeJS.Timeout | null = null;
  #soon = false;
  readonly #waiting = new Map<number, Waiting>();
  #ref = 0;

  /** `added` more bytes of the file open as `fd` (readable) are written, `bytes` in all: hash them, soon. */
  written(fd: number, bytes: number, added: number): void {
    this.#pending.set(fd, bytes);
    this.#unsent += added;
    // After this turn: the relay forwards first.
    if (this.#unsent < SEND_BYTES) this.#timer ??= setTimeout(() => this.#sendPending(), SEND_MS).unref();
    else if (!this.#soon) {
      this.#soon = true;
      setImmediate(() => this.#sendPending());
    }
  }

  /**
   * The digest of the file's first `bytes` bytes. Keep `fd` open until this settles. Should the
   * thread fail, the file is hashed here instead: the digest is never wrong, only later.
   */
  async finish(fd: number, bytes: number): Promise<string> {
    this.#pending.delete(fd);
    try {
      return await this.#ask(fd, bytes);
    } catch {
      return hashFd(fd, bytes);
    }
  }

  #ask(fd: number, bytes: number): Promise<string> {
    this.#sendPending();
    const ref = ++this.#ref;
    const answer = new Promise<string>((resolve, reject) => this.#waiting.set(ref, { resolve, reject }));
    const worker = this.#thread();
    worker.ref();
    worker.postMessage({ op: 'finish', fd, bytes, ref } satisfies HasherRequest);
    return answer;
  }

  #sendPending(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#soon = false;
    this.#unsent = 0;
    if (this.#pending.size === 0) return;
    const files = [...this.#pending];
    this.#pending.clear();
    this.#thread().postMessage({ op: 'upTo', files } satisfies HasherRequest);
  }

  #thread(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(WORKER_URL);
    worker.unref();
    worker.on('message', (m: HasherResponse) => {
      const w = this.#waiting.get(m.ref);
      this.#waiting.delete(m.ref);
      if (this.#waiting.size === 0) worker.unref();
      if ('sha256' in m) w?.resolve(m.sha256);
      else w?.reject(new Error(m.error));
    });
    const lost = (err: Error) => {
      if (this.#worker !== worker) return;
      this.#worker = null;
      for (const w of this.#waiting.values()) w.reject(err);
      this.#waiting.clear();
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`the hash thread exited (${code})`)));
    this.#worker = worker;
    return worker;
  }
}

/** The slow path, on this thread: the file read back from the start. */
async function hashFd(fd: number, bytes: number): Promise<string> {
  const hash = createHash('sha256');
  const buf = Buffer.allocUnsafe(1 << 20);
  for (let at = 0; at < bytes; ) {
    const { bytesRead } = await readAsync(fd, buf, 0, Math.min(buf.length, bytes - at), at);
    if (bytesRead === 0) throw new Error(`the recording ends at ${at} bytes, ${bytes} were written`);
    hash.update(buf.subarray(0, bytesRead));
    at += bytesRead;
  }
  return hash.digest('hex');
}

/** The process's one hasher (its thread starts with the first recording). */
export const fileHasher = new FileHasher();
