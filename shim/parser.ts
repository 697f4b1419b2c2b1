// One audit.log line → one typed record, or a typed error. Pure and allocation-light: the header
// (node, type, timestamp, serial) is scanned by hand on every line, because the assembler needs
// only that; key=value fields are scanned on first use, because most records (PATH, BPRM_FCAPS,
// SOCKADDR…) are never looked at. No regex on the hot path.

import { recordTypeName } from './record-types.ts';
import { fieldText } from './values.ts';

const SPACE = 0x20;
const GS = 0x1d; // ENRICHED: interpreted fields follow this byte
const DQUOTE = 0x22;
const SQUOTE = 0x27;
const EQ = 0x3d;

export type AuditFields = Record<string, string>;

/** A parsed line. Field values are kept as written (quoted values keep their quotes) so the
 *  kernel's encoding of untrusted strings — quoted, hex, or (null) — stays visible; decode
 *  with `fieldText`/`untrusted`. */
export class AuditRecord {
  readonly kind = 'record' as const;
  readonly node: string | null;
  /** 'SYSCALL', 'EXECVE', 'UNKNOWN[1329]'; numeric types are mapped to names where known */
  readonly type: string;
  /** "sec.ms" exactly as in msg=audit(...) */
  readonly time: string;
  readonly timeMs: number;
  readonly serial: number;
  readonly line: string;
  /** index of the first body character after "):" */
  readonly bodyStart: number;
  #fields: AuditFields | undefined;
  #enriched: AuditFields | null | undefined;

  constructor(init: {
    node: string | null;
    type: string;
    time: string;
    timeMs: number;
    serial: number;
    line: string;
    bodyStart: number;
  }) {
    this.node = init.node;
    this.type = init.type;
    this.time = init.time;
    this.timeMs = init.timeMs;
    this.serial = init.serial;
    this.line = init.line;
    this.bodyStart = init.bodyStart;
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
    let end = s.indexOf('\u001d', this.bodyStart);
    if (end < 0) end = s.length;
    let at: number;
    if (s.startsWith(name, this.bodyStart) && s.charCodeAt(this.bodyStart + name.length) === EQ) {
      at = this.bodyStart;
    } else {
      at = s.indexOf(` ${name}=`, this.bodyStart);
      if (at < 0 || at >= end) return undefined;
      at++;
    }
    const vs = at + name.length + 1;
    const c = s.charCodeAt(vs);
    if (c === DQUOTE) {
      const close = s.indexOf('"', vs + 1);
      return s.slice(vs, close < 0 || close >= end ? end : close + 1);
    }
    let ve = s.indexOf(' ', vs);
    if (ve < 0 || ve > end) ve = end;
    return s.slice(vs, ve);
  }

  /** One ENRICHED (after 0x1d) field's value, without scanning the record. */
  enrichedField(name: string): string | undefined {
    if (this.#enriched !== undefined) return this.#enriched?.[name];
    const s = this.line;
    const gs = s.indexOf('\u001d', this.bodyStart);
    if (gs < 0) return undefined;
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
  const type = recordTypeName(line.slice(typeStart, i));
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
  const time = line.slice(secStart, p);
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
    time,
    timeMs: sec * 1000 + msNorm,
    serial,
    line: line.slice(0, end),
    bodyStart: p,
  });
}

/** Scans key=value pairs into `out`; returns the index of the 0x1d separator or `end`.
 *  Bare words (AVC's "denied { read }", AppArmor's "subj=docker-default (enforce)") are joined to
 *  the previous unquoted value; a userspace msg='...' is kept whole and its inner fields added
 *  where they do not shadow an outer one. */
function scanFields(s: string, start: number, end: number, out: AuditFields, stopAtGs: boolean): number {
  let i = start;
  let lastKey: string | null = null;
  let gs = -1; // the next 0x1d at or after i (or end), found on first need
  while (i < end) {
    let c = s.charCodeAt(i);
    while (c === SPACE && i < end) c = s.charCodeAt(++i);
    if (i >= end) break;
    if (c === GS) {
      if (stopAtGs) return i;
      i++;
      continue;
    }
    const ks = i;
    while (i < end && c !== SPACE && c !== EQ && c !== GS) c = s.charCodeAt(++i);
    if (i >= end || c !== EQ) {
      if (lastKey !== null) out[lastKey] += ' ' + s.slice(ks, i);
      continue;
    }
    const key = s.slice(ks, i);
    i++;
    c = s.charCodeAt(i);
    if (c === DQUOTE || c === SQUOTE) {
      let close = s.indexOf(c === DQUOTE ? '"' : "'", i + 1);
      if (close < 0 || close >= end) close = end - 1;
      out[key] = s.slice(i, close + 1);
      if (c === SQUOTE) {
        const inner: AuditFields = Object.create(null);
        scanFields(s, i + 1, close, inner, false);
        for (const k in inner) if (!(k in out)) out[k] = inner[k]!;
      }
      i = close + 1;
      lastKey = null;
    } else {
      // indexOf, not a char loop: EXECVE values run to thousands of hex digits.
      const vs = i;
      if (gs < i) {
        gs = s.indexOf('\u001d', i);
        if (gs < 0 || gs > end) gs = end;
      }
      const sp = s.indexOf(' ', i);
      i = sp < 0 || sp > gs ? gs : sp;
      out[key] = s.slice(vs, i);
      lastKey = key;
    }
  }
  return end;
}

export { decodeProctitle, fieldNumber, fieldText, untrusted, untrustedBytes } from './values.ts';
