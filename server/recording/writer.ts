// One session's asciicast v2 file, appended as the session runs.
//
// Durability choice: every event is written to the file (write(2) completed, so it is in the
// kernel's page cache) before the relay forwards the frame to the user. A recorder crash or
// SIGKILL therefore loses nothing the user saw. fdatasync runs at most once a second while
// output flows (in the background: forwarding never waits for the disk) and always at close: a
// host power loss may lose up to that last second, which keeps large outputs from being limited by
// disk flush latency.
//
// Writes are synchronous: a page-cache write of one event costs microseconds, far less than a trip
// through the libuv thread pool and a promise per event, and it lets the relay write and then
// forward in the same turn (nothing queued, nothing to reorder). Output events are encoded straight
// from bytes (json-text.ts) and written with writev, so bulk output is not copied on the way.
//
// The write is the only recording work on the relay's turn. The SHA-256 of every byte written is
// computed beside it, by the hash thread reading the file back (file-hasher.ts), so the digest is
// ready when the file closes (signed evidence uses it without re-reading the file).
import { close as closeFd, fdatasync, open, writeSync, writevSync } from 'node:fs';
import { mkdir, open as openFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type AsciicastHeader, encodeHeader, encodeResizeData } from '../../common/asciicast.ts';
import { Channel, parseResize, type TerminalSize } from '../../common/channel.ts';
import { AuditedExecError } from '../../common/errors.ts';
import { fileHasher } from './file-hasher.ts';
import { JsonTextStream } from './json-text.ts';

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
  const fh = await openFile(path, 'wx', 0o640);
  await fh.close();
  return path;
}

/**
 * The session's recording path on this replica, its folder made: the stream may be opened (and
 * recorded) by another replica than the one that reserved the file at create.
 */
export async function recordingHere(dataDir: string, id: string): Promise<string> {
  await mkdir(join(dataDir, RECORDINGS_DIR), { recursive: true });
  return recordingPath(dataDir, id);
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

const openFd = promisify(open);
const closeAsync = promisify(closeFd);
const datasyncAsync = promisify(fdatasync);

/** Below this many bytes an event is joined into one buffer (one write(2) of one piece). */
const SMALL_EVENT = 16 * 1024;
const EVENT_END = Buffer.from('"]\n');
const CODES = { o: '"o","', i: '"i","', r: '"r","', m: '"m","' } as const;

export class RecordingWriter {
  readonly #fd: number;
  readonly #o: RecordingOptions;
  readonly #start: number;
  readonly #now: () => number;
  readonly #streams = { o1: new JsonTextStream(), o2: new JsonTextStream(), i: new JsonTextStream() };
  #bytes = 0;
  #headerWritten = false;
  #lastSync = 0;
  #syncing: Promise<void> | null = null;
  #failure: RecordingFailedError | null = null;
  #closed = false;
  #closing: Promise<void> | null = null;
  #digest: string | null = null;

  private constructor(fd: number, options: RecordingOptions) {
    this.#fd = fd;
    this.#o = options;
    this.#now = options.now ?? (() => performance.now());
    // t=0 is the whole second in the header's timestamp (asciicast v2 has whole seconds only), so
    // timestamp + t is each event's wall-clock time to the millisecond: the UI lines the shim's
    // command times up with the player by it. The first event may come up to 1 s after t=0.
    this.#start = this.#now() - (options.startedAt.getTime() % 1000);
    this.#lastSync = this.#now();
  }

  /** Opens the (reserved) file for appending (and reading: the hash thread reads it back). */
  static async open(options: RecordingOptions): Promise<RecordingWriter> {
    try {
      return new RecordingWriter(await openFd(options.path, 'a+', 0o640), options);
    } catch (err) {
      throw recordingError(err);
    }
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** The error that stopped the recording, if any: the session must end (fail closed). */
  get failure(): RecordingFailedError | null {
    return this.#failure;
  }

  /**
   * Writes the chunks as one output event; returns once it is in the file. Throws (and stays
   * failed) if it cannot be written: the caller must not forward what it could not record.
   */
  output(stream: 1 | 2, chunks: Uint8Array | readonly Uint8Array[]): void {
    const text = stream === 1 ? this.#streams.o1 : this.#streams.o2;
    this.#text('o', text, chunks);
  }

  /**
   * Channel frames as on the wire (stdout or stderr, channel byte first), e.g. all that arrived in
   * one event-loop turn: one output event, one write, per run of frames of the same stream.
   */
  outputFrames(frames: readonly Buffer[]): void {
    let from = 0;
    for (let i = 1; i <= frames.length; i++) {
      if (i < frames.length && frames[i]![0] === frames[from]![0]) continue;
      const stream = frames[from]![0] === Channel.stdout ? 1 : 2;
      this.output(
        stream,
        frames.slice(from, i).map((f) => f.subarray(1)),
      );
      from = i;
    }
  }

  /** A frame from the user as on the wire: stdin is an `i` event (where asked), resize an `r` event. */
  clientFrame(frame: Buffer): void {
    if (frame[0] === Channel.stdin) this.input(frame.subarray(1));
    else if (frame[0] === Channel.resize) {
      const size = parseResize(frame.subarray(1));
      if (size) this.resize(size);
    }
  }

  input(bytes: Uint8Array): void {
    if (this.#o.recordInput) this.#text('i', this.#streams.i, bytes);
  }

  resize(size: TerminalSize): void {
    this.#check();
    if (!this.#headerWritten) this.#writeHeader(size);
    else this.#event('r', [Buffer.from(encodeResizeData(size.width, size.height))]);
  }

  /** A marker event (`m`): a labelled moment in the recording, e.g. where a moderator ended it. */
  marker(label: string): void {
    this.#check();
    // JSON.stringify's quotes are the event's own; the body goes between them.
    this.#event('m', [Buffer.from(JSON.stringify(label).slice(1, -1))]);
  }

  /** Flushes pending text, syncs and closes. Safe to call twice, also after a failure. */
  async close(): Promise<{ bytes: number; sha256: string }> {
    if (!this.#closed) {
      this.#closed = true;
      this.#closing = this.#finish();
    }
    await this.#closing;
    return { bytes: this.#bytes, sha256: this.#digest! };
  }

  async #finish(): Promise<void> {
    try {
      const tail = [this.#streams.o1.end(), this.#streams.o2.end()].filter((t) => t.length > 0);
      if (tail.length && !this.#failure) this.#event('o', tail);
      if (!this.#headerWritten && !this.#failure) this.#writeHeader();
    } catch {
      // The failure is recorded; what was written stays, and the file still closes.
    }
    await this.#syncing;
    await datasyncAsync(this.#fd).catch(() => {});
    try {
      this.#digest = await fileHasher.finish(this.#fd, this.#bytes);
    } catch (err) {
      throw recordingError(err);
    } finally {
      await closeAsync(this.#fd).catch(() => {});
    }
  }

  #check(): void {
    if (this.#failure) throw this.#failure;
    if (this.#closed) throw new AuditedExecError('RECORDING_CLOSED', 'recording already closed');
  }

  #text(code: 'o' | 'i', stream: JsonTextStream, chunks: Uint8Array | readonly Uint8Array[]): void {
    this.#check();
    const parts: Uint8Array[] = [];
    for (const chunk of chunks instanceof Uint8Array ? [chunks] : chunks) {
      const part = stream.write(chunk);
      if (part.length > 0) parts.push(part);
    }
    // Only part of a character so far: nothing to show yet.
    if (parts.length > 0) this.#event(code, parts);
  }

  /** One event line from JSON string bodies. */
  #event(code: keyof typeof CODES, data: Uint8Array[]): void {
    if (!this.#headerWritten) this.#writeHeader();
    const t = Math.max(0, Math.round(((this.#now() - this.#start) / 1000) * 1e6) / 1e6);
    const pieces = [Buffer.from(`[${t},${CODES[code]}`), ...data, EVENT_END];
    let total = 0;
    for (const p of pieces) total += p.length;
    this.#write(total < SMALL_EVENT ? [Buffer.concat(pieces, total)] : pieces, total);
  }

  #writeHeader(size?: TerminalSize): void {
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
    const line = Buffer.from(encodeHeader(header), 'utf8');
    this.#write([line], line.length);
  }

  #write(pieces: Uint8Array[], total: number): void {
    try {
      const done = pieces.length === 1 ? 0 : writevSync(this.#fd, pieces);
      if (done < total) {
        const rest = (pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces, total)).subarray(done);
        for (let off = 0; off < rest.length; ) off += writeSync(this.#fd, rest, off, rest.length - off);
      }
    } catch (err) {
      this.#failure = recordingError(err);
      throw this.#failure;
    }
    this.#bytes += total;
    fileHasher.written(this.#fd, this.#bytes, total);
    this.#syncSoon();
  }

  /** At most once a second, never twice at once, and never in the way of forwarding. */
  #syncSoon(): void {
    const now = this.#now();
    if (this.#syncing || now - this.#lastSync < SYNC_INTERVAL_MS) return;
    this.#lastSync = now;
    this.#syncing = datasyncAsync(this.#fd).then(
      () => {
        this.#syncing = null;
      },
      (err: unknown) => {
        this.#syncing = null;
        this.#failure ??= recordingError(err);
      },
    );
  }
}

/**
 * The recording could not be written (disk full, over quota, I/O error): the session it records is
 * ended, and whoever counts or reports "recording failed" tells it by this class, not by its words.
 */
export class RecordingFailedError extends AuditedExecError {
  declare readonly code: 'RECORDING_FAILED';
  constructor(message: string, options?: { cause?: unknown }) {
    super('RECORDING_FAILED', message, options);
    this.name = 'RecordingFailedError';
  }
}

function recordingError(err: unknown): RecordingFailedError {
  const code = (err as NodeJS.ErrnoException)?.code ?? 'EIO';
  const why =
    code === 'ENOSPC'
      ? 'the recorder has no disk space left'
      : code === 'EDQUOT'
        ? 'the recorder is over its disk quota'
        : `the recording could not be written (${code})`;
  return new RecordingFailedError(`${why}; the session was ended because it could not be recorded`, {
    cause: err,
  });
}
