// Canonical JSON: the one byte string a value signs as. Object keys sorted by UTF-16 code units
// (what Array.prototype.sort does, and what RFC 8785 prescribes), no whitespace, strings and
// numbers as JSON.stringify writes them. Values JSON cannot carry round-trip (NaN, Infinity,
// functions, bigint, sparse holes) are refused rather than silently changed, because a
// signature over a value that does not survive JSON.parse would not verify on the other side.
import { AuditedExecError } from '../errors.ts';

export function canonicalJson(value: unknown): string {
  return write(value, '$');
}

/** UTF-8 bytes of canonicalJson(value): what is hashed and signed. */
export function canonicalBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(canonicalJson(value));
}

function write(value: unknown, path: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw refuse(path, `${value} is not a JSON number`);
      // -0 parses back as 0; write what the reader will see.
      return JSON.stringify(Object.is(value, -0) ? 0 : value);
    case 'object':
      break;
    default:
      throw refuse(path, `a ${typeof value} cannot be written as JSON`);
  }
  if (Array.isArray(value)) {
    const items: string[] = [];
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) throw refuse(`${path}[${i}]`, 'sparse array hole');
      items.push(write(value[i], `${path}[${i}]`));
    }
    return `[${items.join(',')}]`;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    throw refuse(path, `a ${proto?.constructor?.name ?? 'non-plain'} object cannot be written as JSON`);
  }
  const record = value as Record<string, unknown>;
  const parts: string[] = [];
  for (const key of Object.keys(record).sort()) {
    const v = record[key];
    // Like JSON.stringify: an absent optional field and `undefined` mean the same thing.
    if (v === undefined) continue;
    parts.push(`${JSON.stringify(key)}:${write(v, `${path}.${key}`)}`);
  }
  return `{${parts.join(',')}}`;
}

function refuse(path: string, why: string): AuditedExecError {
  return new AuditedExecError('EVIDENCE_NOT_CANONICAL', `cannot sign ${path}: ${why}`);
}
