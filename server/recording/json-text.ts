// Terminal bytes to the body of a JSON string, without a detour through JS strings.
//
// An asciicast event's data is the stream's text, so the old path was TextDecoder → JSON.stringify
// → UTF-8 Buffer: three passes and two copies per frame, the recorder's main cost on bulk output.
// Valid UTF-8 is already valid JSON string text except for control characters, `"` and `\`, so
// here the bytes are checked natively (isAscii/isUtf8), scanned 16 at a time (escape-scan.ts) for the few bytes
// JSON must escape, and passed on as they are when there are none (no copy at all). Only output
// that is not valid UTF-8 takes the old path, so U+FFFD lands exactly where TextDecoder puts it.
// Output is byte-for-byte what JSON.stringify(new TextDecoder().decode(bytes, {stream: true}))
// would give between its quotes.
import { isAscii, isUtf8 } from 'node:buffer';
import { forget, scanFrom } from './escape-scan.ts';

/** The escape JSON.stringify writes for each byte that needs one. */
const ESCAPES: Uint8Array[] = [];
for (let b = 0; b < 0x20; b++) ESCAPES[b] = Buffer.from(`\\u${b.toString(16).padStart(4, '0')}`);
for (const [b, s] of [
  [0x08, '\\b'],
  [0x09, '\\t'],
  [0x0a, '\\n'],
  [0x0c, '\\f'],
  [0x0d, '\\r'],
  [0x22, '\\"'],
  [0x5c, '\\\\'],
] as const)
  ESCAPES[b] = Buffer.from(s);

/** Runs of plain bytes shorter than this are copied in the loop, longer ones natively. */
const SHORT_RUN = 32;

/** Where the escapes of the input being encoded are: found once, used to size and to fill. */
let positions = new Int32Array(1024);

/** JSON string body for text already known to be valid UTF-8: the same view when nothing needs escaping. */
export function escapeJson(bytes: Uint8Array): Uint8Array {
  forget();
  let count = 0;
  let extra = 0;
  for (let k = scanFrom(bytes, 0); k >= 0; k = scanFrom(bytes, k + 1)) {
    if (count === positions.length) {
      const grown = new Int32Array(count * 2);
      grown.set(positions);
      positions = grown;
    }
    positions[count++] = k;
    extra += ESCAPES[bytes[k]!]!.length - 1;
  }
  if (count === 0) return bytes;
  const out = Buffer.allocUnsafe(bytes.length + extra);
  let o = 0;
  let from = 0;
  // Terminal output escapes often (\r\n, colours): a view and a native copy per run cost more
  // than copying a short run byte by byte (3-4x faster on `ls -l` or coloured output).
  for (let p = 0; p < count; p++) {
    const i = positions[p]!;
    if (i - from < SHORT_RUN) for (let k = from; k < i; k++) out[o++] = bytes[k]!;
    else {
      out.set(bytes.subarray(from, i), o);
      o += i - from;
    }
    const e = ESCAPES[bytes[i]!]!;
    for (let k = 0; k < e.length; k++) out[o++] = e[k]!;
    from = i + 1;
  }
  out.set(bytes.subarray(from), o);
  return out;
}

/**
 * Length of a valid but unfinished UTF-8 sequence at the end of `bytes` (0–3): held back until its
 * last byte arrives, as a streaming TextDecoder does. A prefix that can no longer become a
 * character is not held: the decoder would already have replaced it.
 */
// biome-ignore lint/complexity/noExcessiveCognitiveComplexity: the branches are the rows of the UTF-8 table (RFC 3629 section 4: lead byte ranges and their second-byte limits), kept in one place to be checked against it
export function incompleteTail(bytes: Uint8Array): number {
  const n = bytes.length;
  for (let back = 1; back <= 3 && back <= n; back++) {
    const b = bytes[n - back]!;
    if (b >= 0x80 && b < 0xc0) continue;
    if (b < 0xc2 || b > 0xf4) return 0;
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
    if (back >= need) return 0;
    if (back >= 2) {
      const second = bytes[n - back + 1]!;
      const [lo, hi] =
        b === 0xe0
          ? [0xa0, 0xbf]
          : b === 0xed
            ? [0x80, 0x9f]
            : b === 0xf0
              ? [0x90, 0xbf]
              : b === 0xf4
                ? [0x80, 0x8f]
                : [0x80, 0xbf];
      if (second < lo || second > hi) return 0;
    }
    return back;
  }
  return 0;
}

const decoder = new TextDecoder('utf-8', { fatal: false });

/** Invalid UTF-8: TextDecoder's U+FFFD placement, then JSON.stringify's escapes. */
function viaString(bytes: Uint8Array): Uint8Array {
  const json = JSON.stringify(decoder.decode(bytes));
  return Buffer.from(json.slice(1, -1), 'utf8');
}

/**
 * One stream's bytes (stdout, stderr or stdin) as JSON string bodies. A character split across two
 * writes is held (at most 3 bytes) until it is whole, so an event never holds U+FFFD for a
 * character the user saw whole.
 */
export class JsonTextStream {
  #carry: Uint8Array | null = null;

  /** The returned view may be `bytes` itself: use it before `bytes` is reused. */
  write(bytes: Uint8Array): Uint8Array {
    let data = bytes;
    if (this.#carry) {
      data = Buffer.concat([this.#carry, bytes]);
      this.#carry = null;
    }
    if (isAscii(data)) return escapeJson(data);
    const tail = incompleteTail(data);
    const whole = tail ? data.subarray(0, data.length - tail) : data;
    if (tail) this.#carry = Buffer.from(data.subarray(data.length - tail));
    return isUtf8(whole) ? escapeJson(whole) : viaString(whole);
  }

  /** An unfinished character at the very end becomes U+FFFD. */
  end(): Uint8Array {
    const carry = this.#carry;
    this.#carry = null;
    return carry ? viaString(carry) : new Uint8Array(0);
  }
}
