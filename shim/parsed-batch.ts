// Parsed lines as one value that is cheap to pass between threads: a parser worker sends the main
// thread a batch of lines as their bytes (transferred, not copied, when they are plain ASCII) or as
// one string, plus a Float64Array of each line's header (what parseAuditLine found), and the main
// thread rebuilds the AuditRecords without scanning a line again. Only the records interpretEvent
// reads (INTERPRETED_TYPES) carry their text; any other record carries only its "sec.ms", which is
// all the assembler takes from it (an event's time is its first record's). Pure.

import { INTERPRETED_TYPES } from './exec-event.ts';
import { type AuditLineError, AuditRecord, parseAuditLine } from './parser.ts';

/** Header slots per line in ParsedBatch.meta. */
const SLOTS = 9;
// slot 0: what the line is: a record's type, as an index into `types`, or
const EMPTY = -1;
const BAD = -2;
// then, relative to `bytes` or `text`, where the record's string is (the whole line, or its
// "sec.ms" alone), and relative to that string, where its body and "sec.ms" are:
const START = 1;
const END = 2;
const NODE = 3; // index into `nodes`, or -1
const TIME_MS = 4;
const SERIAL = 5;
const BODY = 6;
const TIME_START = 7;
const TIME_END = 8;

export interface ParsedBatch {
  /** the lines' bytes, when they are ASCII without \r (so a line's characters are its bytes) */
  bytes: Uint8Array | null;
  /** else: the strings the records carry, each followed by \n */
  text: string;
  meta: Float64Array;
  lines: number;
  types: string[];
  nodes: string[];
}

/** Collects parsed lines into a ParsedBatch. With `bytes`, each line is given with its offset in
 *  them; without, the batch keeps the strings it needs. */
export class BatchWriter {
  readonly #bytes: Uint8Array | null;
  #parts: string[] = [];
  #length = 0;
  #meta = new Float64Array(SLOTS * 1024);
  #lines = 0;
  readonly #types = new Map<string, number>();
  readonly #nodes = new Map<string, number>();

  constructor(bytes: Uint8Array | null) {
    this.#bytes = bytes;
  }

  add(line: string, offset = 0): void {
    const r = parseAuditLine(line);
    const at = this.#slot();
    const m = this.#meta;
    if (r.kind === 'error') {
      m[at] = r.code === 'empty' ? EMPTY : BAD;
      this.#span(at, line, offset, 0, r.code === 'empty' ? 0 : line.length);
      return;
    }
    m[at] = indexOf(this.#types, r.type);
    m[at + NODE] = r.node === null ? -1 : indexOf(this.#nodes, r.node);
    m[at + TIME_MS] = r.timeMs;
    m[at + SERIAL] = r.serial;
    if (INTERPRETED_TYPES.has(r.type)) {
      this.#span(at, line, offset, 0, r.line.length);
      m[at + BODY] = r.bodyStart;
      m[at + TIME_START] = r.timeStart;
      m[at + TIME_END] = r.timeEnd;
    } else {
      const time = r.timeEnd - r.timeStart;
      this.#span(at, line, offset, r.timeStart, r.timeEnd);
      m[at + BODY] = time;
      m[at + TIME_START] = 0;
      m[at + TIME_END] = time;
    }
  }

  /** The batch so far. */
  take(): ParsedBatch {
    return {
      bytes: this.#bytes,
      text: this.#parts.join(''),
      meta: this.#meta.slice(0, this.#lines * SLOTS),
      lines: this.#lines,
      types: [...this.#types.keys()],
      nodes: [...this.#nodes.keys()],
    };
  }

  /** Where the string for line[from, to) is. */
  #span(at: number, line: string, offset: number, from: number, to: number): void {
    if (this.#bytes !== null) {
      this.#meta[at + START] = offset + from;
      this.#meta[at + END] = offset + to;
      return;
    }
    this.#meta[at + START] = this.#length;
    this.#meta[at + END] = this.#length + to - from;
    if (to > from) {
      this.#parts.push(from === 0 && to === line.length ? line : line.slice(from, to));
      this.#length += to - from;
    }
  }

  #slot(): number {
    const at = this.#lines++ * SLOTS;
    if (at + SLOTS > this.#meta.length) {
      const grown = new Float64Array(this.#meta.length * 2);
      grown.set(this.#meta);
      this.#meta = grown;
    }
    return at;
  }
}

/** What a batch line is: a record, or a line that is not one (with its text, for the report).
 *  Exactly what parseAuditLine said about the line. */
export type BatchLine = { record: AuditRecord } | { error: AuditLineError; text: string };

/** Calls `each` for every line of the batch, in order. */
export function readBatch(batch: ParsedBatch, each: (line: BatchLine) => void): void {
  const { meta, types, nodes } = batch;
  const bytes =
    batch.bytes === null ? null : Buffer.from(batch.bytes.buffer, batch.bytes.byteOffset, batch.bytes.length);
  const text = batch.text;
  // Interned type names: the same constants parseAuditLine returns for the common types, so the
  // assembler's comparisons stay pointer compares.
  const typeNames = types.map(parsedTypeName);
  for (let at = 0; at < batch.lines * SLOTS; at += SLOTS) {
    const kind = meta[at]!;
    const start = meta[at + START]!;
    const end = meta[at + END]!;
    const s = bytes !== null ? bytes.toString('latin1', start, end) : text.slice(start, end);
    if (kind < 0) {
      each({ error: kind === EMPTY ? EMPTY_LINE : (parseAuditLine(s) as AuditLineError), text: s });
      continue;
    }
    const node = meta[at + NODE]!;
    const record = new AuditRecord({
      node: node < 0 ? null : nodes[node]!,
      type: typeNames[kind]!,
      timeStart: meta[at + TIME_START]!,
      timeEnd: meta[at + TIME_END]!,
      timeMs: meta[at + TIME_MS]!,
      serial: meta[at + SERIAL]!,
      line: s,
      bodyStart: meta[at + BODY]!,
    });
    each({ record });
  }
}

/** Frees the batch's buffers now (ES2024 ArrayBuffer.prototype.transfer detaches them), rather
 *  than when a major GC finds them: they outlive many scavenges while the batch is attributed. */
export function releaseBatch(batch: ParsedBatch): void {
  for (const view of [batch.bytes, batch.meta]) {
    (view?.buffer as (ArrayBuffer & { transfer?: (n: number) => ArrayBuffer }) | undefined)?.transfer?.(0);
  }
}

const EMPTY_LINE: AuditLineError = { kind: 'error', code: 'empty', message: 'empty line' };

function indexOf(map: Map<string, number>, key: string): number {
  let i = map.get(key);
  if (i === undefined) {
    i = map.size;
    map.set(key, i);
  }
  return i;
}

/** The type name parseAuditLine returns for `type` (its interned constant for the common ones). */
function parsedTypeName(type: string): string {
  const r = parseAuditLine(`type=${type} msg=audit(0.000:0):`);
  return r.kind === 'record' ? r.type : type;
}
