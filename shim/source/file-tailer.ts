// Follows /var/log/audit/audit.log across auditd's rotations (audit.log → audit.log.1 → …) and
// truncation. Every file auditd starts is opened as soon as the tailer sees audit.log change inode
// (checked before every read), and held open until read to its end: a rotated file that auditd
// renames again, or deletes (num_logs), is still read whole however far behind the reader is.
// Only a file that came and went between two checks (num_logs rotations in one consumer step)
// cannot be read; the tailer then marks the next batch `missingBefore`, never skips silently.
// A checkpoint (inode, offset, last serial) lets a restart resume where it stopped: if the
// checkpointed inode was rotated meanwhile, the rest of that file and every newer rotated file are
// read before audit.log, so nothing is lost and nothing is read twice.
// fs.watch wakes the reader; a poll covers filesystems where watch events do not arrive.

import { readFile, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Checkpoint } from './checkpoint.ts';
import { CHUNK, type LineBatch, readChunk, splitLines } from './line-batch.ts';
import type { LogSource } from './log-source.ts';
import { LogWaiter } from './log-waiter.ts';
import { nodeTailFs, type TailFile, type TailFs } from './tail-fs.ts';

export type { Checkpoint } from './checkpoint.ts';
export type { LineBatch } from './line-batch.ts';

export interface FileTailerOptions {
  path: string;
  /** where the checkpoint is kept; null: none (start per `fromStart`) */
  checkpointFile?: string | null;
  /** without a checkpoint: read the current file from its start (default) or only new lines */
  fromStart?: boolean;
  pollMs?: number;
  /** least time between going idle and reading again (batches auditd's small writes) */
  settleMs?: number;
  /** a log that gave lines this recently is polled every settleMs instead of watched */
  busyMs?: number;
  /** called when the reader has caught up and waits for more (the daemon flushes open events) */
  onIdle?: () => void;
  log?: (fields: Record<string, unknown>) => void;
  /** the file system (default: node:fs) */
  fs?: TailFs;
}

/** A file auditd started after the one being read, held open until its turn. */
interface Queued {
  file: TailFile;
  /** why lines before it may be missing (null: it is the direct successor) */
  missingBefore: string | null;
}

/** Tries at a listing that no rotation changed while it was taken (each try is a few syscalls). */
const SNAPSHOT_TRIES = 20;

export class FileTailer implements LogSource {
  readonly #opts: Required<Omit<FileTailerOptions, 'onIdle' | 'log' | 'checkpointFile'>> &
    Pick<FileTailerOptions, 'onIdle' | 'log'> & { checkpointFile: string | null };
  #closed = false;
  readonly #waiter: LogWaiter;
  readonly #fs: TailFs;
  /** the file being read (its inode is the position's) */
  #current: TailFile | null = null;
  /** files auditd started after #current, oldest first */
  readonly #queue: Queued[] = [];
  /** put on the next batch: lines before it may be missing */
  #missing: string | null = null;
  #inode = 0;
  #offset = 0;
  #lastSerial: number | null = null;
  readonly #buf = Buffer.allocUnsafe(CHUNK);

  constructor(options: FileTailerOptions) {
    this.#opts = {
      fromStart: true,
      pollMs: 500,
      settleMs: 20,
      busyMs: 250,
      checkpointFile: null,
      fs: nodeTailFs,
      ...options,
    };
    this.#fs = this.#opts.fs;
    const { pollMs, settleMs, busyMs } = this.#opts;
    this.#waiter = new LogWaiter({ dir: dirname(this.#opts.path), pollMs, settleMs, busyMs });
  }

  /** Where the last yielded line (or batch) ended. */
  get position(): Checkpoint {
    return { inode: this.#inode, offset: this.#offset, lastSerial: this.#lastSerial };
  }

  /** The consumer tells the serial of the last line it processed, for the checkpoint. */
  noteSerial(serial: number): void {
    this.#lastSerial = serial;
  }

  /** Saves `at` (default: where the last yielded line ended) with the caller's `extra` state, which
   *  readCheckpoint gives back. A consumer that still holds unfinished work for earlier lines passes
   *  the position of the first of them, so a restart reads them again. */
  async saveCheckpoint(
    at?: Pick<Checkpoint, 'inode' | 'offset'>,
    extra?: Record<string, unknown>,
  ): Promise<void> {
    const file = this.#opts.checkpointFile;
    const pos = { ...this.position, ...at };
    if (file === null || pos.inode === 0) return;
    await writeFile(`${file}.tmp`, JSON.stringify({ ...extra, ...pos }));
    await rename(`${file}.tmp`, file);
  }

  /** Line by line; position() is exact after every line. */
  async *lines(): AsyncGenerator<string> {
    for await (const batch of this.batches()) {
      const { lines, starts, end } = batch;
      for (let i = 0; i < lines.length; i++) {
        this.#offset = i + 1 < lines.length ? starts[i + 1]! : end;
        yield lines[i]!;
      }
    }
  }

  /** A read's worth of lines at a time (a generator step per line cost more than the parsing in
   *  an exec storm); position() is at the batch's end while the consumer holds it. */
  async *batches(): AsyncGenerator<LineBatch> {
    this.#waiter.watch();
    try {
      const cp = await this.#loadCheckpoint();
      if (cp !== null) this.#resume(cp);
      else if (!this.#opts.fromStart) {
        this.#current = this.#fs.open(this.#opts.path);
        this.#offset = this.#current?.size() ?? 0;
      }
      yield* this.#follow();
    } finally {
      this.#current?.close();
      this.#current = null;
      for (const q of this.#queue.splice(0)) q.file.close();
    }
  }

  close(): void {
    this.#closed = true;
    this.#waiter.close();
  }

  /** Starts at the checkpointed file if it is still there (under any name), with every file auditd
   *  started after it queued; else at audit.log's start, saying lines may be missing. */
  #resume(cp: Checkpoint): void {
    const files = this.#snapshot() ?? [];
    const at = files.findIndex((f) => f.ino === cp.inode);
    if (at < 0) {
      for (const f of files.slice(1)) f.close();
      this.#current = files[0] ?? null;
      this.#offset = 0;
      if (this.#current === null) return;
      this.#opts.log?.({
        level: 'warn',
        msg: 'checkpointed audit log not found; some events may be lost',
        inode: cp.inode,
      });
      this.#missing = `the checkpointed audit log (inode ${cp.inode}) was gone at start`;
      return;
    }
    for (const f of files.slice(at + 1)) f.close();
    this.#current = files[at]!;
    this.#offset = cp.offset > this.#current.size() ? 0 : cp.offset;
    for (const file of files.slice(0, at).reverse()) this.#queue.push({ file, missingBefore: null });
  }

  async *#follow(): AsyncGenerator<LineBatch> {
    const { path } = this.#opts;
    while (!this.#closed) {
      if (this.#current === null) {
        this.#current = this.#fs.open(path);
        this.#offset = 0;
        if (this.#current === null) {
          await this.#waiter.sleep();
          continue;
        }
      }
      const file = this.#current;
      this.#inode = file.ino;
      // Before the read: a file found rotated here gets no more writes, so a read after this that
      // finds nothing new has read it to its end.
      this.#discover();
      // A line still being written stays unread (offset does not move past it) until its \n.
      const batch = splitLines(readChunk(file, this.#offset, this.#buf), file.ino, this.#offset);
      if (batch !== null) {
        this.#waiter.busy();
        yield this.#take(batch);
        // A busy log never leaves this loop on its own: close() must still stop it.
        if (this.#closed) return;
        // Reads are sync: let timers and sockets (shipping, acks, checkpoints) run between
        // chunks while a backlog is read.
        await new Promise(setImmediate);
        continue;
      }
      if (this.#closed) return;
      const next = this.#queue.shift();
      if (next !== undefined) {
        // Rotated and read to its end. auditd writes whole lines, but a torn last line is still
        // the log's content: passed on as it is rather than dropped.
        const rest = file.size() - this.#offset;
        if (rest > 0) {
          const tail = this.#buf.subarray(0, file.read(this.#buf.subarray(0, rest), this.#offset));
          yield this.#take({
            inode: file.ino,
            lines: [tail.toString('utf8')],
            starts: [this.#offset],
            end: this.#offset + tail.length,
          });
        }
        file.close();
        this.#current = next.file;
        this.#offset = 0;
        this.#missing ??= next.missingBefore;
        continue;
      }
      if (this.#fs.ino(path) === file.ino && file.size() < this.#offset) {
        this.#offset = 0; // truncated in place
        continue;
      }
      this.#opts.onIdle?.();
      await this.#waiter.sleep();
    }
  }

  /** The batch as yielded: the position moves to its end, and it carries a pending gap. */
  #take(batch: LineBatch): LineBatch {
    this.#offset = batch.end;
    if (this.#missing === null) return batch;
    const missingBefore = this.#missing;
    this.#missing = null;
    return { ...batch, missingBefore };
  }

  /** Opens and queues every file auditd started since the newest one held, when audit.log is no
   *  longer that file (one stat in the usual case). */
  #discover(): void {
    const newest = this.#queue.at(-1)?.file.ino ?? this.#current?.ino ?? 0;
    if (newest === 0 || this.#fs.ino(this.#opts.path) === newest) return;
    const files = this.#snapshot();
    if (files === null) return; // rotating as we looked: the next check looks again
    const at = files.findIndex((f) => f.ino === newest);
    const fresh = at < 0 ? files : files.slice(0, at);
    for (const f of files.slice(fresh.length)) f.close();
    if (fresh.length === 0) return; // audit.log not created yet
    // The newest file held is gone from the directory (auditd deleted it, num_logs rotations
    // after it was audit.log): a file started after it may have been deleted too, unseen.
    const gap =
      at < 0
        ? `auditd deleted the audit log after inode ${newest} (${basename(this.#opts.path)} rotated num_logs times between two reads); a file between it and inode ${fresh.at(-1)!.ino} may have been deleted unread`
        : null;
    if (gap !== null) this.#opts.log?.({ level: 'warn', msg: 'audit log rotated away unread', detail: gap });
    for (const [i, file] of fresh.reverse().entries())
      this.#queue.push({ file, missingBefore: i === 0 ? gap : null });
  }

  /** audit.log, audit.log.1, … newest first, each opened, as they were at one moment: auditd
   *  renames them one by one while a listing is taken, so a listing counts only when every name
   *  still names the file opened under it and no name came or went. Null: none held still. */
  #snapshot(): TailFile[] | null {
    for (let attempt = 0; attempt < SNAPSHOT_TRIES; attempt++) {
      const names = this.#logNames();
      const opened: TailFile[] = [];
      for (const name of names) {
        const f = this.#fs.open(name);
        if (f === null) break;
        opened.push(f);
      }
      const same =
        opened.length === names.length &&
        names.every((name, i) => this.#fs.ino(name) === opened[i]!.ino) &&
        this.#logNames().join('\0') === names.join('\0');
      if (same) return opened;
      for (const f of opened) f.close();
    }
    return null;
  }

  /** The paths of audit.log and its rotated files that exist now, newest first. */
  #logNames(): string[] {
    const dir = dirname(this.#opts.path);
    const base = basename(this.#opts.path);
    const found: { n: number; file: string }[] = [];
    for (const name of this.#fs.readdir(dir)) {
      const n = name === base ? 0 : name.startsWith(`${base}.`) ? Number(name.slice(base.length + 1)) : -1;
      if (Number.isInteger(n) && n >= 0) found.push({ n, file: join(dir, name) });
    }
    return found.sort((a, b) => a.n - b.n).map((f) => f.file);
  }

  async #loadCheckpoint(): Promise<Checkpoint | null> {
    const file = this.#opts.checkpointFile;
    if (file === null) return null;
    try {
      const cp = JSON.parse(await readFile(file, 'utf8')) as Checkpoint;
      this.#inode = cp.inode;
      this.#offset = cp.offset;
      this.#lastSerial = cp.lastSerial;
      return cp;
    } catch {
      return null;
    }
  }
}
