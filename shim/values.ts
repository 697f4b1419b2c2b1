// Decoders for audit field values as the kernel writes them: quoted text, hex bytes, (null),
// numbers. Pure; the parser keeps values raw and callers decode only what they use.

const DQUOTE = 0x22;
const SQUOTE = 0x27;

/** A plain field without its quotes (e.g. comm, key, success). */
export function fieldText(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const c = value.charCodeAt(0);
  if ((c === DQUOTE || c === SQUOTE) && value.length >= 2 && value.charCodeAt(value.length - 1) === c) {
    return value.slice(1, -1);
  }
  return value;
}

/** Decodes an untrusted string field as the kernel wrote it: "quoted", hex bytes, or (null). */
export function untrusted(value: string | undefined): string | null {
  if (value === undefined || value === '(null)') return null;
  // Quoted values are already the text (the kernel quotes only printable ASCII without spaces).
  if (value.charCodeAt(0) === DQUOTE)
    return value.length >= 2 && value.endsWith('"') ? value.slice(1, -1) : value.slice(1);
  const hex = hexBytes(value);
  return hex === null ? value : hex.toString('utf8');
}

export function untrustedBytes(value: string | undefined): Buffer | null {
  if (value === undefined || value === '(null)') return null;
  if (value.charCodeAt(0) === DQUOTE) {
    const inner = value.length >= 2 && value.endsWith('"') ? value.slice(1, -1) : value.slice(1);
    return Buffer.from(inner, 'utf8');
  }
  return hexBytes(value) ?? Buffer.from(value, 'utf8');
}

/** The bytes of an all-hex value, else null. Buffer's hex decoder stops at the first non-hex pair,
 *  so a full-length result is the validity check, in one native pass. */
function hexBytes(v: string): Buffer | null {
  if (v.length === 0 || v.length % 2 !== 0) return null;
  const b = Buffer.from(v, 'hex');
  return b.length * 2 === v.length ? b : null;
}

/** PROCTITLE: NUL-separated, hex when it contains a NUL, truncated by the kernel at 128 bytes.
 *  Only a display hint — never use it in place of EXECVE argv. */
export function decodeProctitle(value: string | undefined): string[] | null {
  const bytes = untrustedBytes(value);
  if (bytes === null) return null;
  return bytes.toString('utf8').split('\0');
}

/** The number in a numeric field, or null for absent/unset/non-numeric values. */
export function fieldNumber(value: string | undefined): number | null {
  if (value === undefined || value.length === 0) return null;
  // Plain decimal digits (pids, uids: nearly every call) are read inline, exactly as Number()
  // reads them while they are below 2^53; anything else (hex, signs, exponents) goes to Number().
  if (value.length <= 15) {
    let n = 0;
    let i = 0;
    for (; i < value.length; i++) {
      const c = value.charCodeAt(i);
      if (c < 0x30 || c > 0x39) break;
      n = n * 10 + c - 0x30;
    }
    if (i === value.length) return n;
  }
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}
