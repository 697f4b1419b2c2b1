// One audit.log line → one typed record, or a typed error. Pure and allocation-light: the header
// (node, type, timestamp, serial) is scanned by hand on every line, because the assembler needs
// only that; key=value fields are scanned on first use, because most records (PATH, BPRM_FCAPS,
// SOCKADDR…) are never looked at. No regex on the hot path.

import { type AuditFields, scanFields } from './field-scan.ts';
import { recordTypeAt } from './record-types.ts';
import { fieldText } from './values.ts';

const SPACE = 0x20;
const DQUOTE = 0x22;
const EQ = 0x3d;

export type { AuditFields } from './field-scan.ts';

/** A parsed line. Field values are kept as written (quoted values keep their quotes) so the
 *  kernel's encoding of untrusted strings — quoted, hex, or (null) — stays visible; decode
 *  with `fieldText`/`untrusted`. */
export class AuditRecord {
  readonly kind = 'record' as const;
  readonly node: string | null;
  /** 'SYSCALL', 'EXECVE', 'UNKNOWN[1329]'; numeric types are mapped to names where known */
  readonly type: string;
  readonly timeMs: number;
  readonly serial: number;
  readonly line: string;
  /** index of the first body character after "):" */
  readonly bodyStart: number;
  /** where "sec.ms" is in line: sliced only for the records that are asked (an event's first) */
  readonly #timeStart: number;
  readonly #timeEnd: number;
  #fields: AuditFields | undefined;
  #enriched: AuditFields | null | undefined;
  /** index of the ENRICHED separator, or the line's length; -1 until first needed */
  #gs = -1;

  constructor(init: {
    node: string | null;
    type: string;
    /** "sec.ms" is line.slice(timeStart, timeEnd) */
    timeStart: number;
    timeEnd: number;
    timeMs: number;
    serial: number;
    line: string;
    bodyStart: number;
  }) {
    this.node = init.node;
    this.type = init.type;
    this.#timeStart = init.timeStart;
    this.#timeEnd = init.timeEnd;
    this.timeMs = init.timeMs;
    this.serial = init.serial;
    this.line = init.line;
    this.bodyStart = init.bodyStart;
  }

  /** where "sec.ms" starts and ends in line (a parser worker sends these, not the slice) */
  get timeStart(): number {
    return this.#timeStart;
  }

  get timeEnd(): number {
    return this.#timeEnd;
  }

  /** "sec.ms" exactly as in msg=audit(...) */
  get time(): string {
    return this.line.slice(this.#timeStart, this.#timeEnd);
  }

  /** "sec.ms:serial", the audit id ausearch and the wire use */
  get auditId(): string {
    return `${this.time}:${this.serial}`;
  }

  get fields(): AuditFields {
    if (this.#fields === undefined) this.#scan();
    return this.#fields!;
  }

  /** One kernel field's raw value without scanning the whole record: for kernel-written records
   *  (SYSCALL…), whose values never contain a space (the kernel hex-encodes those), so " name="
   *  cannot occur inside a value. Stops at the ENRICHED separator. */
  field(name: string): string | undefined {
    if (this.#fields !== undefined) return this.#fields[name];
    const s = this.line;
    const end = this.#kernelEnd();
    let at: number;
    if (s.startsWith(name, this.bodyStart) && s.charCodeAt(this.bodyStart + name.length) === EQ) {
      at = this.bodyStart;
    } else {
      at = s.indexOf(` ${name}=`, this.bodyStart);
      if (at < 0 || at >= end) return undefined;
      at++;
    }
    return valueAt(s, at + name.length + 1, end);
  }

  /** `names.list.map((n) => this.field(n))` in one pass over the line: every key position (the
   *  body start and each space before the ENRICHED separator) is tried against the names that
   *  start with its character, and the first match of each name wins, as indexOf would find it. */
  pick(names: FieldNames): (string | undefined)[] {
    const list = names.list;
    const out = new Array<string | undefined>(list.length).fill(undefined);
    if (this.#fields !== undefined) {
      for (let j = 0; j < list.length; j++) out[j] = this.#fields[list[j]!];
      return out;
    }
    const s = this.line;
    const end = this.#kernelEnd();
    const byFirst = names.byFirst;
    let missing = list.length;
    for (let k = this.bodyStart; k < end; ) {
      const candidates = byFirst[s.charCodeAt(k)];
      if (candidates !== undefined) {
        for (let c = 0; c < candidates.length; c++) {
          const j = candidates[c]!;
          const name = list[j]!;
          const eq = k + name.length;
          if (out[j] === undefined && s.charCodeAt(eq) === EQ && eq < end && s.startsWith(name, k)) {
            out[j] = valueAt(s, eq + 1, end);
            if (--missing === 0) return out;
            break;
          }
        }
      }
      const sp = s.indexOf(' ', k);
      if (sp < 0) break;
      k = sp + 1;
    }
    return out;
  }

  /** One ENRICHED (after 0x1d) field's value, without scanning the record. */
  enrichedField(name: string): string | undefined {
    if (this.#enriched !== undefined) return this.#enriched?.[name];
    const s = this.line;
    const gs = this.#kernelEnd();
    if (gs === s.length) return undefined;
    let at: number;
    if (s.startsWith(name, gs + 1) && s.charCodeAt(gs + 1 + name.length) === EQ) at = gs + 1;
    else {
      at = s.indexOf(` ${name}=`, gs);
      if (at < 0) return undefined;
      at++;
    }
    const vs = at + name.length + 1;
    let ve = s.indexOf(' ', vs);
    if (ve < 0) ve = s.length;
    return fieldText(s.slice(vs, ve));
  }

  /** the ENRICHED section (after 0x1d), or null when the line has none */
  get enriched(): AuditFields | null {
    if (this.#enriched === undefined) this.#scan();
    return this.#enriched!;
  }

  /** Where the kernel's fields end: the ENRICHED separator (0x1d), or the line's end. Found once:
   *  a SYSCALL record is asked for its syscall name, then for a dozen fields. */
  #kernelEnd(): number {
    if (this.#gs < 0) {
      const gs = this.line.indexOf('\u001d', this.bodyStart);
      this.#gs = gs < 0 ? this.line.length : gs;
    }
    return this.#gs;
  }

  #scan(): void {
    const fields: AuditFields = Object.create(null);
    const end = this.line.length;
    const stop = scanFields(this.line, this.bodyStart, end, fields, true);
    this.#fields = fields;
    if (stop < end) {
      const enriched: AuditFields = Object.create(null);
      scanFields(this.line, stop + 1, end, enriched, false);
      this.#enriched = enriched;
    } else {
      this.#enriched = null;
    }
  }
}

export type AuditLineErrorCode = 'empty' | 'no-type' | 'no-timestamp' | 'bad-timestamp';

export interface AuditLineError {
  readonly kind: 'error';
  readonly code: AuditLineErrorCode;
  readonly message: string;
}

export type ParseResult = AuditRecord | AuditLineError;

function fail(code: AuditLineErrorCode, message: string): AuditLineError {
  return { kind: 'error', code, message };
}

/** Parses one line (without its trailing newline). Never throws. */
// biome-ignore lint/complexity/noExcessiveCognitiveComplexity: the header of every audit line in one pass (type=, msg=audit(…), node=), each malformed case its own early return with a code
export function parseAuditLine(line: string): ParseResult {
  let end = line.length;
  while (end > 0 && (line.charCodeAt(end - 1) === 0x0a || line.charCodeAt(end - 1) === 0x0d)) end--;
  if (end === 0) return fail('empty', 'empty line');
  let node: string | null = null;
  let i = 0;
  if (line.startsWith('node=')) {
    const sp = line.indexOf(' ', 5);
    if (sp < 0) return fail('no-type', 'node= without type=');
    node = line.slice(5, sp);
    i = sp + 1;
    while (line.charCodeAt(i) === SPACE) i++;
  }
  if (!line.startsWith('type=', i)) {
    // syslog/audisp copies: "... kernel: audit: type=1300 audit(...)" — find the record inside.
    const at = line.indexOf(' type=', i);
    if (at < 0) return fail('no-type', 'no type= field');
    i = at + 1;
  }
  i += 5;
  const typeStart = i;
  while (i < end && line.charCodeAt(i) !== SPACE) i++;
  if (i === typeStart) return fail('no-type', 'empty type=');
  const type = recordTypeAt(line, typeStart, i);
  const open = line.indexOf('audit(', i);
  if (open < 0 || open > i + 8) return fail('no-timestamp', 'no msg=audit(...) timestamp');
  let p = open + 6;
  const secStart = p;
  let sec = 0;
  for (let c = line.charCodeAt(p); c >= 0x30 && c <= 0x39; c = line.charCodeAt(++p))
    sec = sec * 10 + c - 0x30;
  if (p === secStart || line.charCodeAt(p) !== 0x2e) return fail('bad-timestamp', 'timestamp is not sec.ms');
  p++;
  const msStart = p;
  let ms = 0;
  for (let c = line.charCodeAt(p); c >= 0x30 && c <= 0x39; c = line.charCodeAt(++p)) ms = ms * 10 + c - 0x30;
  const msDigits = p - msStart;
  if (msDigits === 0 || line.charCodeAt(p) !== 0x3a) return fail('bad-timestamp', 'timestamp has no :serial');
  const timeEnd = p;
  p++;
  const serialStart = p;
  let serial = 0;
  for (let c = line.charCodeAt(p); c >= 0x30 && c <= 0x39; c = line.charCodeAt(++p))
    serial = serial * 10 + c - 0x30;
  if (p === serialStart || line.charCodeAt(p) !== 0x29)
    return fail('bad-timestamp', 'serial is not a number');
  p++;
  if (line.charCodeAt(p) === 0x3a) p++;
  while (line.charCodeAt(p) === SPACE) p++;
  // ms is written with exactly 3 digits by the kernel; scale anything else rather than misread it.
  const msNorm = msDigits === 3 ? ms : Math.floor(ms * 10 ** (3 - msDigits));
  return new AuditRecord({
    node,
    type,
    timeStart: secStart,
    timeEnd,
    timeMs: sec * 1000 + msNorm,
    serial,
    line: line.slice(0, end),
    bodyStart: p,
  });
}

/** A field value as `field` reads it: a quoted value to its closing quote (spaces and all), any
 *  other to the next space; never past `end` (the ENRICHED separator or the line's end). */
function valueAt(s: string, vs: number, end: number): string {
  if (s.charCodeAt(vs) === DQUOTE) {
    const close = s.indexOf('"', vs + 1);
    return s.slice(vs, close < 0 || close >= end ? end : close + 1);
  }
  let ve = s.indexOf(' ', vs);
  if (ve < 0 || ve > end) ve = end;
  return s.slice(vs, ve);
}

/** Field names prepared for AuditRecord.pick: indexed by first character, so a key position is
 *  compared only with the names it could be. */
export interface FieldNames {
  readonly list: readonly string[];
  /** first character code → indices into list */
  readonly byFirst: readonly (readonly number[] | undefined)[];
}

export function fieldNames(list: readonly string[]): FieldNames {
  const byFirst: number[][] = [];
  list.forEach((name, j) => {
    if (!/^[\x21-\x7e]+$/.test(name) || name.includes('=') || list.indexOf(name) !== j)
      throw new Error(`bad field name ${name}`);
    const first = name.charCodeAt(0);
    byFirst[first] ??= [];
    byFirst[first].push(j);
  });
  return { list, byFirst };
}

export { decodeProctitle, fieldNumber, fieldText, untrusted, untrustedBytes } from './values.ts';
