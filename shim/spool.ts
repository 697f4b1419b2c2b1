// The shipper's disk spool: events wait here, not in RAM, until the server acks them. Append-only
// segment files (seg-<firstSeq>.jsonl), fsync'd per append; a segment is deleted once every event
// in it is acked. The acked seq is kept in a small file so a restart does not resend the past.

import {
  appendFileSync,
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type { ShimEvent } from '../common/wire.ts';

export interface SpoolOptions {
  dir: string;
  /** bytes after which a new segment starts */
  segmentBytes?: number;
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
  readonly #segments: Segment[] = [];
  #acked = 0;
  #lastSeq = 0;

  constructor(options: SpoolOptions) {
    this.#dir = options.dir;
    this.#segmentBytes = options.segmentBytes ?? 1 << 20;
    mkdirSync(this.#dir, { recursive: true });
    try {
      this.#acked = Number(readFileSync(join(this.#dir, 'acked'), 'utf8')) || 0;
    } catch {
      this.#acked = 0;
    }
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

  /** Assigns seqs, appends and fsyncs. Returns the events with their seq. */
  append(events: Omit<ShimEvent, 'seq'>[]): ShimEvent[] {
    if (events.length === 0) return [];
    const out = events.map((e) => ({ ...e, seq: ++this.#lastSeq }) as ShimEvent);
    let seg = this.#segments.at(-1);
    if (seg === undefined || seg.bytes >= this.#segmentBytes) {
      seg = {
        firstSeq: out[0]!.seq,
        lastSeq: 0,
        file: join(this.#dir, `seg-${out[0]!.seq}.jsonl`),
        bytes: 0,
      };
      this.#segments.push(seg);
    }
    const text = out.map((e) => JSON.stringify(e)).join('\n') + '\n';
    const fd = openSync(seg.file, 'a');
    try {
      appendFileSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    seg.lastSeq = out.at(-1)!.seq;
    seg.bytes += Buffer.byteLength(text);
    return out;
  }

  /** Events with seq > after, at most `limit`, read from disk. */
  read(after: number, limit: number): ShimEvent[] {
    const out: ShimEvent[] = [];
    for (const seg of this.#segments) {
      if (seg.lastSeq <= after) continue;
      for (const e of readEvents(seg.file)) {
        if (e.seq > after) out.push(e);
        if (out.length >= limit) return out;
      }
    }
    return out;
  }

  ack(seq: number): void {
    if (seq > this.#acked) {
      this.#acked = Math.min(seq, this.#lastSeq);
      writeFileSync(join(this.#dir, 'acked.tmp'), String(this.#acked));
      renameSync(join(this.#dir, 'acked.tmp'), join(this.#dir, 'acked'));
    }
    while (
      this.#segments.length > 0 &&
      this.#segments[0]!.lastSeq <= this.#acked &&
      this.#segments[0]!.lastSeq > 0
    ) {
      rmSync(this.#segments.shift()!.file, { force: true });
    }
  }
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
