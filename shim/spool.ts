// The shipper's disk spool: events wait here until the server acks them. Append-only segment files
// (seg-<firstSeq>.jsonl), fsync'd per append; a segment is deleted once every event in it is acked.
// The acked seq is kept in a small file so a restart does not resend the past. Sending reads the
// recent, unacked events from a bounded in-memory copy of their JSON lines (re-reading and parsing
// a whole segment per batch cost more than the rest of the shim); older ones come from disk.

import {
  closeSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { AuditedExecError, errorMessage } from '../common/errors.ts';
import type { ShimEvent } from '../common/wire.ts';

export interface SpoolOptions {
  dir: string;
  /** bytes after which a new segment starts */
  segmentBytes?: number;
  /** bytes of recent JSON lines kept in memory for sending */
  memoryBytes?: number;
  /** the acked file is rewritten at most this often (and always before a segment is deleted) */
  ackWriteMs?: number;
}

interface Segment {
  firstSeq: number;
  lastSeq: number;
  file: string;
  bytes: number;
}

export class Spool {
  readonly #dir: string;
  readonly #segmentBytes: number;
  readonly #memoryBytes: number;
  readonly #ackWriteMs: number;
  readonly #segments: Segment[] = [];
  /** JSON lines of the most recent events, contiguous seqs from #recentFirst */
  #recent: string[] = [];
  #recentStart = 0;
  #recentFirst = 1;
  #recentBytes = 0;
  /** the segment of a previous run may end in a torn line: never append to it */
  #appendable: Segment | null = null;
  #parsed: { file: string; bytes: number; events: ShimEvent[] } | null = null;
  #acked = 0;
  #ackedWritten = 0;
  #ackWrittenAt = 0;
  #lastSeq = 0;

  constructor(options: SpoolOptions) {
    this.#dir = options.dir;
    this.#segmentBytes = options.segmentBytes ?? 8 << 20;
    this.#memoryBytes = options.memoryBytes ?? 8 << 20;
    this.#ackWriteMs = options.ackWriteMs ?? 5000;
    mkdirSync(this.#dir, { recursive: true });
    try {
      this.#acked = Number(readFileSync(join(this.#dir, 'acked'), 'utf8')) || 0;
    } catch {
      this.#acked = 0;
    }
    this.#ackedWritten = this.#acked;
    const names = readdirSync(this.#dir).filter((n) => /^seg-\d+\.jsonl$/.test(n));
    names.sort((a, b) => Number(a.slice(4, -6)) - Number(b.slice(4, -6)));
    for (const name of names) {
      const file = join(this.#dir, name);
      const events = readEvents(file);
      if (events.length === 0) {
        rmSync(file, { force: true });
        continue;
      }
      this.#segments.push({
        firstSeq: events[0]!.seq,
        lastSeq: events.at(-1)!.seq,
        file,
        bytes: statSync(file).size,
      });
    }
    this.#lastSeq = Math.max(this.#acked, this.#segments.at(-1)?.lastSeq ?? 0);
    this.#recentFirst = this.#lastSeq + 1;
    this.ack(this.#acked);
  }

  /** highest seq handed out so far */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  get acked(): number {
    return this.#acked;
  }

  get pending(): number {
    return this.#lastSeq - this.#acked;
  }

  /**
   * Assigns seqs, appends and fsyncs. Returns the events with their seq. All or nothing: when the
   * disk refuses (full, read-only, I/O error) it throws a SHIM_SPOOL_WRITE error and the spool is
   * as before (no seq used, no partial line left in a segment), so the caller can keep the events
   * and try again.
   */
  append(events: Omit<ShimEvent, 'seq'>[]): ShimEvent[] {
    if (events.length === 0) return [];
    const firstSeq = this.#lastSeq + 1;
    const out = events.map((e, i) => ({ ...e, seq: firstSeq + i }) as ShimEvent);
    const fresh = this.#appendable === null || this.#appendable.bytes >= this.#segmentBytes;
    const seg: Segment = fresh
      ? { firstSeq, lastSeq: 0, file: join(this.#dir, `seg-${firstSeq}.jsonl`), bytes: 0 }
      : this.#appendable!;
    const lines = out.map((e) => JSON.stringify(e));
    const data = Buffer.from(`${lines.join('\n')}\n`);
    let fd = -1;
    try {
      fd = openSync(seg.file, 'a');
      // A full disk may take part of a write before refusing the rest.
      for (let done = 0; done < data.length; ) done += writeSync(fd, data, done);
      fsyncSync(fd);
    } catch (err) {
      undoAppend(fd, seg, fresh);
      throw spoolError(this.#dir, err);
    } finally {
      if (fd >= 0) closeSync(fd);
    }
    seg.bytes += data.length;
    seg.lastSeq = out.at(-1)!.seq;
    if (fresh) {
      this.#segments.push(seg);
      this.#appendable = seg;
    }
    this.#lastSeq = seg.lastSeq;
    this.#remember(lines);
    return out;
  }

  /** Events with seq > after, at most `limit`, read from disk. */
  read(after: number, limit: number): ShimEvent[] {
    const out: ShimEvent[] = [];
    for (const seg of this.#segments) {
      if (seg.lastSeq <= after) continue;
      for (const e of this.#segmentEvents(seg)) {
        if (e.seq > after) out.push(e);
        if (out.length >= limit) return out;
      }
    }
    return out;
  }

  /** Like read, as the events' JSON texts (from memory when they are recent), with the last seq
   *  returned: what the shipper sends without parsing and re-serialising. */
  readJson(after: number, limit: number): { json: string[]; lastSeq: number } {
    const live = this.#recent.length - this.#recentStart;
    if (live > 0 && after + 1 >= this.#recentFirst && after < this.#lastSeq) {
      const from = this.#recentStart + (after + 1 - this.#recentFirst);
      const json = this.#recent.slice(from, from + limit);
      return { json, lastSeq: after + json.length };
    }
    const events = this.read(after, limit);
    return { json: events.map((e) => JSON.stringify(e)), lastSeq: events.at(-1)?.seq ?? after };
  }

  /** A segment's events, parsed once for the batches that resend it one after another. */
  #segmentEvents(seg: Segment): ShimEvent[] {
    const c = this.#parsed;
    if (c !== null && c.file === seg.file && c.bytes === seg.bytes) return c.events;
    const events = readEvents(seg.file);
    this.#parsed = { file: seg.file, bytes: seg.bytes, events };
    return events;
  }

  ack(seq: number): void {
    if (seq > this.#acked) {
      this.#acked = Math.min(seq, this.#lastSeq);
      this.#forget();
    }
    let deleting = false;
    while (
      this.#segments.length > 0 &&
      this.#segments[0]!.lastSeq <= this.#acked &&
      this.#segments[0]!.lastSeq > 0
    ) {
      // On disk first: a restart must never take its seqs from an acked file older than a deleted
      // segment (it would hand out seqs the server already stored, and they would be ignored).
      // A disk too full for that keeps the segments until a later ack can write it.
      if (!deleting && !this.#tryWriteAcked()) return;
      deleting = true;
      const seg = this.#segments.shift()!;
      if (seg === this.#appendable) this.#appendable = null;
      rmSync(seg.file, { force: true });
      if (this.#parsed?.file === seg.file) this.#parsed = null;
    }
    if (this.#acked > this.#ackedWritten && Date.now() - this.#ackWrittenAt >= this.#ackWriteMs)
      this.#tryWriteAcked();
  }

  /** Writes the acked seq now (shutdown); false when the disk refused (a restart resends more). */
  flush(): boolean {
    return this.#acked <= this.#ackedWritten || this.#tryWriteAcked();
  }

  #tryWriteAcked(): boolean {
    try {
      this.#writeAcked();
      return true;
    } catch {
      rmSync(join(this.#dir, 'acked.tmp'), { force: true });
      return false;
    }
  }

  #writeAcked(): void {
    writeFileSync(join(this.#dir, 'acked.tmp'), String(this.#acked));
    renameSync(join(this.#dir, 'acked.tmp'), join(this.#dir, 'acked'));
    this.#ackedWritten = this.#acked;
    this.#ackWrittenAt = Date.now();
  }

  #remember(lines: string[]): void {
    for (const l of lines) {
      this.#recent.push(l);
      this.#recentBytes += l.length;
    }
    // Bounded: past memoryBytes the oldest go (they stay on disk).
    while (this.#recentBytes > this.#memoryBytes && this.#recentStart < this.#recent.length) this.#drop();
    this.#compact();
  }

  /** Drops acked events from memory. */
  #forget(): void {
    while (this.#recentStart < this.#recent.length && this.#recentFirst <= this.#acked) this.#drop();
    if (this.#recentStart === this.#recent.length)
      this.#recentFirst = Math.max(this.#recentFirst, this.#acked + 1);
    this.#compact();
  }

  #drop(): void {
    this.#recentBytes -= this.#recent[this.#recentStart]!.length;
    this.#recent[this.#recentStart] = '';
    this.#recentStart++;
    this.#recentFirst++;
  }

  #compact(): void {
    if (this.#recentStart > 1024 && this.#recentStart * 2 > this.#recent.length) {
      this.#recent = this.#recent.slice(this.#recentStart);
      this.#recentStart = 0;
    }
  }
}

/** Takes back a failed append: the segment keeps only whole lines (a fresh one is removed). */
function undoAppend(fd: number, seg: Segment, fresh: boolean): void {
  try {
    if (fresh) rmSync(seg.file, { force: true });
    else if (fd >= 0) ftruncateSync(fd, seg.bytes);
  } catch {
    // Nothing more to do here; a torn last line is skipped when the segment is read.
  }
}

function spoolError(dir: string, err: unknown): AuditedExecError {
  const code = (err as NodeJS.ErrnoException)?.code ?? 'EIO';
  const why =
    code === 'ENOSPC' || code === 'EDQUOT'
      ? `the spool's disk is full (${code})`
      : `the spool cannot be written (${code}: ${errorMessage(err)})`;
  return new AuditedExecError(
    'SHIM_SPOOL_WRITE',
    `${why} in ${dir}; events wait in memory and the audit log is not read further until it can be`,
    { cause: err },
  );
}

function readEvents(file: string): ShimEvent[] {
  const out: ShimEvent[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.length === 0) continue;
    try {
      out.push(JSON.parse(line) as ShimEvent);
    } catch {
      // a torn last line from a crash mid-append: the events before it are intact
    }
  }
  return out;
}
