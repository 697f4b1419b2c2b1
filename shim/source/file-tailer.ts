// Follows /var/log/audit/audit.log across auditd's rotations (audit.log → audit.log.1 → …, noticed
// by inode) and truncation. A checkpoint (inode, offset, last serial) lets a restart resume where it
// stopped: if the checkpointed inode was rotated meanwhile, the rest of that file and every newer
// rotated file are read before audit.log, so nothing is lost and nothing is read twice.
// fs.watch wakes the reader; a poll covers filesystems where watch events do not arrive.

import { statSync } from 'node:fs';
import { type FileHandle, open, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Checkpoint } from './checkpoint.ts';
import { CHUNK, type LineBatch, readChunk, readChunkSync, splitLines } from './line-batch.ts';
import type { LogSource } from './log-source.ts';
import { LogWaiter } from './log-waiter.ts';

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
}

export class FileTailer implements LogSource {
  readonly #opts: Required<Omit<FileTailerOptions, 'onIdle' | 'log' | 'checkpointFile'>> &
    Pick<FileTailerOptions, 'onIdle' | 'log'> & { checkpointFile: string | null };
  #closed = false;
  readonly #waiter: LogWaiter;
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
      ...options,
    };
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
    const { path } = this.#opts;
    this.#waiter.watch();
    const cp = await this.#loadCheckpoint();
    // Rotated files newer than the checkpointed one, oldest first, then the live file.
    if (cp !== null) {
      const current = await statOrNull(path);
      if (current && current.ino !== cp.inode) {
        const rotated = await this.#rotatedSince(cp.inode);
        if (rotated.length === 0)
          this.#opts.log?.({
            level: 'warn',
            msg: 'checkpointed audit log not found; some events may be lost',
            inode: cp.inode,
          });
        for (const [i, file] of rotated.entries()) {
          yield* this.#readWhole(file, i === 0 ? cp.offset : 0);
        }
        this.#offset = 0;
      } else if (current) {
        this.#offset = cp.offset > current.size ? 0 : cp.offset;
      }
    }
    yield* this.#follow(cp === null && !this.#opts.fromStart);
  }

  close(): void {
    this.#closed = true;
    this.#waiter.close();
  }

  async *#follow(fromEnd: boolean): AsyncGenerator<LineBatch> {
    const { path } = this.#opts;
    let first = true;
    let fh: FileHandle | null = null;
    try {
      while (!this.#closed) {
        if (fh === null) {
          try {
            fh = await open(path, 'r');
          } catch {
            await this.#waiter.sleep();
            continue;
          }
        }
        const st = await fh.stat();
        if (st.ino !== this.#inode) {
          this.#inode = st.ino;
          if (!first || this.#offset > st.size) this.#offset = 0;
        }
        if (first && fromEnd) this.#offset = st.size;
        first = false;
        let rotated = false;
        for (;;) {
          // A line still being written stays unread (offset does not move past it) until its \n.
          // Sync: a page-cache read is shorter than the thread-pool round trip of an async one.
          const batch = splitLines(readChunkSync(fh.fd, this.#offset, this.#buf), this.#inode, this.#offset);
          if (batch !== null) {
            this.#waiter.busy();
            this.#offset = batch.end;
            yield batch;
            // A busy log never leaves this loop on its own: close() must still stop it.
            if (this.#closed) return;
            // Reads are sync: let timers and sockets (shipping, acks, checkpoints) run between
            // chunks while a backlog is read.
            await new Promise(setImmediate);
            continue;
          }
          if (this.#closed) return;
          // Seen rotated, then read once more: auditd may have written lines between the last read
          // and the rotation, and writes nothing to a rotated file after it.
          if (rotated) break;
          const now = statSync(path, { throwIfNoEntry: false }) ?? null;
          if (now === null || now.ino !== st.ino) {
            rotated = true;
            continue;
          }
          if (now.size < this.#offset) {
            this.#offset = 0; // truncated in place
            continue;
          }
          this.#opts.onIdle?.();
          await this.#waiter.sleep();
        }
        const next = await this.#openSuccessor(st.ino, (await fh.stat()).mtimeMs);
        await fh.close();
        fh = next;
      }
    } finally {
      await fh?.close();
    }
  }

  /** The file auditd wrote after the one with inode `ino` (which it rotated), opened. Several
   *  rotations may have passed while the shim read: the successor of audit.log.N is audit.log.N-1,
   *  not audit.log. Opened and checked by inode, because names shift under a further rotation.
   *  Null: audit.log itself, not there yet (the caller opens it when it appears). */
  async #openSuccessor(ino: number, mtimeMs: number): Promise<FileHandle | null> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const files = await this.#logFiles();
      const at = files.findIndex((f) => f.ino === ino);
      let pick = at > 0 ? files[at - 1] : at === 0 ? undefined : files.at(-1);
      if (at < 0) {
        // Our file is gone: auditd deleted it (num_logs) or it was removed. Whatever auditd wrote
        // since (no older than what we read last) is still worth reading, oldest first.
        pick = files.findLast((f) => f.mtimeMs >= mtimeMs && f.ino !== ino) ?? files[0];
        this.#opts.log?.({
          level: 'warn',
          msg: 'the audit log being read was deleted; lines auditd rotated away in between are lost',
          next: pick?.file,
        });
      }
      if (pick === undefined) return null;
      let fh: FileHandle;
      try {
        fh = await open(pick.file, 'r');
      } catch {
        continue;
      }
      if ((await fh.stat()).ino === pick.ino) return fh;
      await fh.close(); // rotated again between the listing and the open
    }
    return null;
  }

  /** audit.log (first) and audit.log.1, .2, … that exist now, newest first. */
  async #logFiles(): Promise<{ file: string; ino: number; mtimeMs: number }[]> {
    const dir = dirname(this.#opts.path);
    const base = basename(this.#opts.path);
    const found: { n: number; file: string; ino: number; mtimeMs: number }[] = [];
    for (const name of await readdir(dir)) {
      const n = name === base ? 0 : name.startsWith(`${base}.`) ? Number(name.slice(base.length + 1)) : -1;
      if (!Number.isInteger(n) || n < 0) continue;
      const st = await statOrNull(join(dir, name));
      if (st) found.push({ n, file: join(dir, name), ino: st.ino, mtimeMs: st.mtimeMs });
    }
    return found.sort((a, b) => a.n - b.n);
  }

  async *#readWhole(file: string, from: number): AsyncGenerator<LineBatch> {
    const fh = await open(file, 'r');
    try {
      this.#inode = (await fh.stat()).ino;
      this.#offset = from;
      for (;;) {
        const batch = splitLines(await readChunk(fh, this.#offset, this.#buf), this.#inode, this.#offset);
        if (batch === null) break;
        this.#offset = batch.end;
        yield batch;
      }
    } finally {
      await fh.close();
    }
  }

  /** audit.log.N files from the one with `inode` down to audit.log.1 (newest last). */
  async #rotatedSince(inode: number): Promise<string[]> {
    const rotated = (await this.#logFiles()).slice(1).reverse();
    const start = rotated.findIndex((f) => f.ino === inode);
    return start < 0 ? [] : rotated.slice(start).map((f) => f.file);
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

async function statOrNull(path: string) {
  try {
    return await stat(path);
  } catch {
    return null;
  }
}
