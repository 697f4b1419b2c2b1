// The generic key=value scan of a record body, used when a caller wants every field (PATH, USER_*,
// split EXECVE records). Kernel hot paths read single fields instead (AuditRecord.field/pick).

/** A record's fields by name, values as written (parser.ts decodes them on demand). */
export type AuditFields = Record<string, string>;

const SPACE = 0x20;
const GS = 0x1d;
const DQUOTE = 0x22;
const SQUOTE = 0x27;
const EQ = 0x3d;

/** Scans key=value pairs into `out`; returns the index of the 0x1d separator or `end`.
 *  Bare words (AVC's "denied { read }", AppArmor's "subj=docker-default (enforce)") are joined to
 *  the previous unquoted value; a userspace msg='...' is kept whole and its inner fields added
 *  where they do not shadow an outer one. */
// biome-ignore lint/complexity/noExcessiveCognitiveComplexity: one pass over the bytes of every audit record (the parser's hot loop); split into helpers it would pay a call and a state hand-off per field, and the quoting rules read best side by side
export function scanFields(
  s: string,
  start: number,
  end: number,
  out: AuditFields,
  stopAtGs: boolean,
): number {
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
