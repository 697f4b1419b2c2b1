// The SIEM export's on-disk spool: every exported event is appended here before any sink sees it,
// and each sink delivers from its own cursor, advanced only once the sink acknowledged. So events
// survive a recorder restart (kill -9 included) and any receiver outage, and a sink is never on a
// session's path: appending is one synchronous write of one line, and delivery reads it back later.
//
// Layout under <dataDir>/siem/: `spool/<first-seq>.jsonl` segments of one event per line (the event
// numbered first-seq + line), and `cursors/<sink>`: the number of the next event the sink has not had
// acknowledged, written atomically (rename). A segment goes once every sink is past it.
//
// Bounded: when the segments pass `maxBytes`, the oldest segment is deleted; the events in it a sink
// had not delivered are dropped for that sink, said in one log line and counted (`dropped`). When an
// event cannot be written at all (the disk is full), that event is dropped, said once until writing
// works again, and counted (`unwritable`); what is already spooled stays and is delivered.
import {
  closeSync,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage } from '../../common/errors.ts';

export interface SpoolOptions {
  /** <dataDir>/siem */
  dir: string;
  /** The sinks that read it (their cursors). */
  sinks: readonly string[];
  /** Most bytes of segments kept; the oldest segment goes beyond it. */
  maxBytes: number;
  /** A new segment starts past this size; default maxBytes/8, at most 8 MiB. */
  segmentBytes?: number;
  log: (line: string) => void;
}

interface Segment {
  first: number;
  count: number;
  bytes: number;
  path: string;
}

/** Per sink: events dropped by the bound; and the spool's own count of events it could not write. */
export interface SpoolFigures {
  dropped: Map<string, number>;
  unwritable: number;
}

const SEGMENT_RE = /^(\d{20})\.jsonl$/;

export class Spool {
  readonly figures: SpoolFigures = { dropped: new Map(), unwritable: 0 };
  readonly #o: Required<SpoolOptions>;
  readonly #segments: Segment[] = [];
  readonly #cursors = new Map<string, number>();
  readonly #listeners = new Set<() => void>();
  #fd: number | undefined;
  #next = 0;
  /** Set while writes fail: the first failure is logged, then the recovery. */
  #failing: { dropped: number } | undefined;
  /** Sinks whose cursor file could not be written last time (said once, not per batch). */
  readonly #cursorFailing = new Set<string>();
  /** The segment read last, split: a backlog is read batch after batch from the same segment. */
  #cache: { path: string; bytes: number; lines: string[] } | undefined;

  constructor(options: SpoolOptions) {
    this.#o = { segmentBytes: Math.min(8 << 20, Math.floor(options.maxBytes / 8)), ...options };
    mkdirSync(join(this.#o.dir, 'spool'), { recursive: true });
    mkdirSync(join(this.#o.dir, 'cursors'), { recursive: true });
    this.#load();
  }

  /** Appends one event; never throws (a write that fails drops the event, counted and logged). */
  append(line: string): void {
    const data = Buffer.from(`${line}\n`);
    try {
      const seg = this.#writable(data.length);
      let written = 0;
      try {
        written = writeSync(this.#fd!, data);
      } finally {
        // A short write (full disk) would leave half a line: cut it off, keep the file whole.
        if (written !== data.length) ftruncateSync(this.#fd!, seg.bytes);
      }
      if (written !== data.length) throw new Error(`ENOSPC: only ${written} of ${data.length} bytes written`);
      seg.count++;
      seg.bytes += data.length;
      this.#next++;
      this.#recovered();
    } catch (err) {
      this.#unwritable(err);
      return;
    }
    this.#bound();
    for (const wake of this.#listeners) wake();
  }

  /** Calls `wake` after each append (a delivery loop waiting for work). */
  onAppend(wake: () => void): () => void {
    this.#listeners.add(wake);
    return () => this.#listeners.delete(wake);
  }

  /** The next event `sink` has not had acknowledged. */
  cursor(sink: string): number {
    return Math.max(this.#cursors.get(sink) ?? 0, this.#oldest());
  }

  /** Events spooled and not yet acknowledged by `sink`. */
  backlog(sink: string): number {
    return this.#next - this.cursor(sink);
  }

  /** Up to `max` events from `from` on, and the cursor after them. */
  async read(from: number, max: number): Promise<{ lines: string[]; next: number }> {
    let next = Math.max(from, this.#oldest());
    const lines: string[] = [];
    while (lines.length < max) {
      const at = next;
      const seg = this.#segments.find((s) => at >= s.first && at < s.first + s.count);
      if (!seg) break;
      const got = (await this.#lines(seg)).slice(at - seg.first, at - seg.first + max - lines.length);
      if (got.length === 0) break;
      lines.push(...got);
      next += got.length;
    }
    return { lines, next };
  }

  /** A segment's counted lines (one past `count` may be a write under way). */
  async #lines(seg: Segment): Promise<string[]> {
    const c = this.#cache;
    if (c && c.path === seg.path && c.bytes === seg.bytes) return c.lines;
    // Counted before reading: a line counted later may be read half-written.
    const { bytes, count } = seg;
    const text = await readFile(seg.path, 'utf8').catch(() => '');
    const lines = text.split('\n').slice(0, count);
    this.#cache = { path: seg.path, bytes, lines };
    return lines;
  }

  /** `sink` has had every event before `next` acknowledged. */
  commit(sink: string, next: number): void {
    this.#cursors.set(sink, next);
    const file = join(this.#o.dir, 'cursors', sink);
    try {
      writeFileSync(`${file}.tmp`, String(next));
      renameSync(`${file}.tmp`, file);
      this.#cursorFailing.delete(sink);
    } catch (err) {
      // In memory it moved on; after a restart the events since the last stored cursor go again.
      if (!this.#cursorFailing.has(sink)) {
        this.#o.log(
          `siem: the cursor of sink ${sink} cannot be stored (${errorMessage(err)}); after a restart its events since the last stored cursor are sent again`,
        );
      }
      this.#cursorFailing.add(sink);
    }
    this.#dropDelivered();
  }

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
    this.#listeners.clear();
  }

  #oldest(): number {
    return this.#segments[0]?.first ?? this.#next;
  }

  #load(): void {
    const names = readdirSync(join(this.#o.dir, 'spool'))
      .filter((n) => SEGMENT_RE.test(n))
      .sort();
    for (const name of names) {
      const path = join(this.#o.dir, 'spool', name);
      const buf = readFileSync(path);
      // A line cut short by a crash or a full disk is no event: cut it off.
      const whole = buf.lastIndexOf(0x0a) + 1;
      if (whole < buf.length) writeFileSync(path, buf.subarray(0, whole));
      let count = 0;
      for (let i = 0; i < whole; i++) if (buf[i] === 0x0a) count++;
      const first = Number(SEGMENT_RE.exec(name)![1]);
      this.#segments.push({ first, count, bytes: whole, path });
      this.#next = first + count;
    }
    for (const sink of this.#o.sinks) {
      let at = 0;
      try {
        at = Number(readFileSync(join(this.#o.dir, 'cursors', sink), 'utf8')) || 0;
      } catch {
        at = 0; // a new sink starts at the oldest event kept
      }
      this.#cursors.set(sink, Math.min(at, this.#next));
    }
    this.#dropDelivered();
  }

  /** The segment to append `size` bytes to, opened (a new one past segmentBytes). */
  #writable(size: number): Segment {
    const last = this.#segments.at(-1);
    if (last && this.#fd !== undefined && last.bytes + size <= this.#o.segmentBytes) return last;
    if (last && this.#fd === undefined && last.bytes + size <= this.#o.segmentBytes) {
      this.#fd = openSync(last.path, 'a');
      last.bytes = fstatSync(this.#fd).size;
      return last;
    }
    const path = join(this.#o.dir, 'spool', `${String(this.#next).padStart(20, '0')}.jsonl`);
    const fd = openSync(path, 'a');
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = fd;
    const seg = { first: this.#next, count: 0, bytes: 0, path };
    this.#segments.push(seg);
    return seg;
  }

  /** Over the limit: the oldest segment goes, and what sinks had not delivered of it is dropped. */
  #bound(): void {
    let total = this.#segments.reduce((n, s) => n + s.bytes, 0);
    while (total > this.#o.maxBytes && this.#segments.length > 1) {
      const seg = this.#segments.shift()!;
      total -= seg.bytes;
      const end = seg.first + seg.count;
      for (const sink of this.#o.sinks) {
        const at = Math.max(this.#cursors.get(sink) ?? 0, seg.first);
        if (at >= end) continue;
        const n = end - at;
        this.figures.dropped.set(sink, (this.figures.dropped.get(sink) ?? 0) + n);
        this.#o.log(
          `siem: SPOOL FULL (${this.#o.maxBytes} bytes): dropped the ${n} oldest event(s) not yet delivered to sink ${sink} (events ${at}..${end - 1}); the receiver is too far behind, see --siem-spool-size`,
        );
      }
      rmSync(seg.path, { force: true });
    }
  }

  /** Segments every sink is past are deleted (never the one being written). */
  #dropDelivered(): void {
    const slowest = Math.min(...this.#o.sinks.map((s) => this.#cursors.get(s) ?? 0));
    while (this.#segments.length > 1 && this.#segments[0]!.first + this.#segments[0]!.count <= slowest) {
      rmSync(this.#segments.shift()!.path, { force: true });
    }
  }

  #unwritable(err: unknown): void {
    this.figures.unwritable++;
    if (this.#failing) {
      this.#failing.dropped++;
      return;
    }
    this.#failing = { dropped: 1 };
    this.#o.log(
      `siem: CANNOT SPOOL (${errorMessage(err)}): new events are being dropped until the data disk has room; events already spooled are kept and delivered`,
    );
  }

  #recovered(): void {
    if (!this.#failing) return;
    this.#o.log(`siem: spooling works again; ${this.#failing.dropped} event(s) were dropped meanwhile`);
    this.#failing = undefined;
  }
}
