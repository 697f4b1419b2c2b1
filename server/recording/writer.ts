// One session's asciicast v2 file, appended as the session runs.
//
// Durability choice: every event is written to the file (write(2) completed, so it is in the
// kernel's page cache) before the relay forwards the frame to the user. A recorder crash or
// SIGKILL therefore loses nothing the user saw. fdatasync runs at most once a second while
// output flows and always at close: a host power loss may lose up to that last second, which keeps
// large outputs from being limited by disk flush latency.
//
// A running SHA-256 covers every byte written, so the digest is known the moment the file closes
// (signed evidence uses it without re-reading the file).
import { createHash, type Hash } from 'node:crypto';
import { type FileHandle, mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type AsciicastCode,
  type AsciicastHeader,
  encodeEvent,
  encodeHeader,
  encodeResizeData,
  Utf8Stream,
} from '../../common/asciicast.ts';
import type { TerminalSize } from '../../common/channel.ts';
import { AuditedExecError } from '../../common/errors.ts';

export const RECORDINGS_DIR = 'recordings';
const SYNC_INTERVAL_MS = 1000;

export function recordingPath(dataDir: string, id: string): string {
  return join(dataDir, RECORDINGS_DIR, `${id}.cast`);
}

/**
 * Creates the session's empty recording file at session-create time: a data dir that cannot take
 * a recording refuses the session before any exec happens.
 */
export async function reserveRecording(dataDir: string, id: string): Promise<string> {
  await mkdir(join(dataDir, RECORDINGS_DIR), { recursive: true });
  const path = recordingPath(dataDir, id);
  const fh = await open(path, 'wx', 0o640);
  await fh.close();
  return path;
}

export interface RecordingOptions {
  path: string;
  /** Wall clock at the start (header timestamp). */
  startedAt: Date;
  title?: string;
  env?: { TERM?: string; SHELL?: string };
  recordInput: boolean;
  /** Size for the header when output arrives before any resize. */
  defaultSize?: TerminalSize;
  /** Monotonic milliseconds; performance.now by default. */
  now?: () => number;
}

export class RecordingWriter {
  readonly #fh: FileHandle;
  readonly #o: RecordingOptions;
  readonly #hash: Hash = createHash('sha256');
  readonly #start: number;
  readonly #now: () => number;
  readonly #streams = { o1: new Utf8Stream(), o2: new Utf8Stream(), i: new Utf8Stream() };
  #bytes = 0;
  #headerWritten = false;
  #lastSync = 0;
  #failure: AuditedExecError | null = null;
  #chain: Promise<void> = Promise.resolve();
  #closed = false;
  #digest: string | null = null;

  private constructor(fh: FileHandle, options: RecordingOptions) {
    this.#fh = fh;
    this.#o = options;
    this.#now = options.now ?? (() => performance.now());
    this.#start = this.#now();
    this.#lastSync = this.#start;
  }

  /** Opens the (reserved) file for appending. */
  static async open(options: RecordingOptions): Promise<RecordingWriter> {
    try {
      return new RecordingWriter(await open(options.path, 'a', 0o640), options);
    } catch (err) {
      throw recordingError(err);
    }
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** The error that stopped the recording, if any: the session must end (fail closed). */
  get failure(): AuditedExecError | null {
    return this.#failure;
  }

  /** hex SHA-256 of everything written so far (final once close() resolved). */
  digest(): string {
    return this.#digest ?? this.#hash.copy().digest('hex');
  }

  /** Resolves once the output is in the file; rejects (and stays failed) if it cannot be written. */
  output(stream: 1 | 2, bytes: Uint8Array): Promise<void> {
    const text = (stream === 1 ? this.#streams.o1 : this.#streams.o2).write(bytes);
    return this.#event('o', text);
  }

  input(bytes: Uint8Array): Promise<void> {
    if (!this.#o.recordInput) return Promise.resolve();
    return this.#event('i', this.#streams.i.write(bytes));
  }

  resize(size: TerminalSize): Promise<void> {
    if (!this.#headerWritten) return this.#enqueue(() => this.#writeHeader(size));
    return this.#event('r', encodeResizeData(size.width, size.height));
  }

  /** Flushes pending text, syncs and closes. Safe to call twice, also after a failure. */
  async close(): Promise<{ bytes: number; sha256: string }> {
    if (!this.#closed) {
      this.#closed = true;
      const tail = this.#streams.o1.end() + this.#streams.o2.end();
      if (tail) this.#event('o', tail, true).catch(() => {});
      await this.#chain.catch(() => {});
      if (!this.#headerWritten && !this.#failure) await this.#writeHeader().catch(() => {});
      await this.#fh.datasync().catch(() => {});
      await this.#fh.close().catch(() => {});
      this.#digest = this.#hash.digest('hex');
    }
    return { bytes: this.#bytes, sha256: this.digest() };
  }

  #event(code: AsciicastCode, data: string, closing = false): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#closed && !closing)
      return Promise.reject(new AuditedExecError('RECORDING_CLOSED', 'recording already closed'));
    const time = (this.#now() - this.#start) / 1000;
    if (data === '') return this.#chain;
    return this.#enqueue(async () => {
      if (!this.#headerWritten) await this.#writeHeader();
      await this.#append(encodeEvent({ time, code, data }));
    });
  }

  #enqueue(step: () => Promise<void>): Promise<void> {
    const next = this.#chain.then(() => {
      if (this.#failure) throw this.#failure;
      return step();
    });
    this.#chain = next.catch(() => {});
    return next;
  }

  async #writeHeader(size?: TerminalSize): Promise<void> {
    if (this.#headerWritten) return;
    const s = size ?? this.#o.defaultSize ?? { width: 80, height: 24 };
    const header: AsciicastHeader = {
      version: 2,
      width: s.width,
      height: s.height,
      timestamp: Math.floor(this.#o.startedAt.getTime() / 1000),
      ...(this.#o.env ? { env: this.#o.env } : {}),
      ...(this.#o.title ? { title: this.#o.title } : {}),
    };
    this.#headerWritten = true;
    await this.#append(encodeHeader(header));
  }

  async #append(line: string): Promise<void> {
    const buf = Buffer.from(line, 'utf8');
    try {
      let off = 0;
      while (off < buf.length) {
        const { bytesWritten } = await this.#fh.write(buf, off, buf.length - off);
        off += bytesWritten;
      }
      this.#hash.update(buf);
      this.#bytes += buf.length;
      const now = this.#now();
      if (now - this.#lastSync >= SYNC_INTERVAL_MS) {
        this.#lastSync = now;
        await this.#fh.datasync();
      }
    } catch (err) {
      this.#failure = recordingError(err);
      throw this.#failure;
    }
  }
}

function recordingError(err: unknown): AuditedExecError {
  const code = (err as NodeJS.ErrnoException)?.code ?? 'EIO';
  const why =
    code === 'ENOSPC'
      ? 'the recorder has no disk space left'
      : code === 'EDQUOT'
        ? 'the recorder is over its disk quota'
        : `the recording could not be written (${code})`;
  return new AuditedExecError(
    'RECORDING_FAILED',
    `${why}; the session was ended because it could not be recorded`,
    { cause: err },
  );
}
