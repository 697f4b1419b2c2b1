// Where the next byte is that a JSON string must escape (C0 controls, `"`, `\`), 16 bytes a step.
//
// Bulk output is mostly bytes that need no escape, and the scan for the few that do ran at about
// 1 GB/s in JavaScript (four bytes a step): 5% of the recorder's CPU on bulk output. A WebAssembly
// SIMD loop (below, 163 bytes) compares 16 bytes a step; the bytes are copied into its memory a
// chunk at a time (a memcpy, far cheaper than the scan), once per chunk however many escapes the
// chunk holds. Short inputs (keystrokes) are scanned bytewise: a copy and a call cost more there.

/** 1 for bytes JSON must escape inside a string. */
const NEEDS_ESCAPE = new Uint8Array(256);
for (let b = 0; b < 0x20; b++) NEEDS_ESCAPE[b] = 1;
NEEDS_ESCAPE[0x22] = 1;
NEEDS_ESCAPE[0x5c] = 1;

const splat = (b: number) => Array.from({ length: 16 }, () => b);

/**
 * (func $scan (param $at i32) (param $end i32) (result i32) (local $v v128)
 *   loop
 *     (if (i32.ge_u $at $end) (return (i32.const -1)))
 *     (local.set $v (v128.load $at))
 *     (if (v128.any_true (v128.or (v128.or (i8x16.lt_u $v 0x20…) (i8x16.eq $v 0x22…)) (i8x16.eq $v 0x5c…)))
 *       (return $at))
 *     (local.set $at (i32.add $at 16)) (br 0)
 *   end unreachable)
 * with its 16-page memory exported: the first 16-byte step at or after `at`, below `end`, holding
 * a byte to escape (`end - at` a multiple of 16), or -1.
 */
// biome-ignore format: the bytes are grouped by instruction
const SCAN_BODY = [
  0x01, 0x01, 0x7b, // one local: v128
  0x03, 0x40, // loop
  0x20, 0x00, 0x20, 0x01, 0x4f, 0x04, 0x40, 0x41, 0x7f, 0x0f, 0x0b, // if at >= end: return -1
  0x20, 0x00, 0xfd, 0x00, 0x00, 0x00, 0x21, 0x02, // v = v128.load(at)
  0x20, 0x02, 0xfd, 0x0c, ...splat(0x20), 0xfd, 0x26, // v < 0x20 (unsigned)
  0x20, 0x02, 0xfd, 0x0c, ...splat(0x22), 0xfd, 0x23, 0xfd, 0x50, // | v == '"'
  0x20, 0x02, 0xfd, 0x0c, ...splat(0x5c), 0xfd, 0x23, 0xfd, 0x50, // | v == '\'
  0xfd, 0x53, 0x04, 0x40, 0x20, 0x00, 0x0f, 0x0b, // if any lane: return at
  0x20, 0x00, 0x41, 0x10, 0x6a, 0x21, 0x00, 0x0c, 0x00, // at += 16; continue
  0x0b, 0x00, 0x0b, // end loop; unreachable; end
];

const PAGES = 16;
// biome-ignore format: the bytes are grouped by section
const MODULE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // \0asm, version 1
  0x01, 0x07, 0x01, 0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f, // type: (i32, i32) -> i32
  0x03, 0x02, 0x01, 0x00, // function 0 has type 0
  0x05, 0x03, 0x01, 0x00, PAGES, // memory: 16 pages
  0x07, 0x0e, 0x02, 0x04, 0x73, 0x63, 0x61, 0x6e, 0x00, 0x00, 0x03, 0x6d, 0x65, 0x6d, 0x02, 0x00, // export scan, mem
  0x0a, SCAN_BODY.length + 2, 0x01, SCAN_BODY.length, ...SCAN_BODY, // code
]);

const instance = new WebAssembly.Instance(new WebAssembly.Module(MODULE));
const scan = instance.exports.scan as (at: number, end: number) => number;
const memory = new Uint8Array((instance.exports.mem as WebAssembly.Memory).buffer);
const CHUNK = memory.length;
/** Below this many bytes left, the bytewise loop is faster than copy + call. */
const SHORT = 256;

/** Which bytes are in `memory`: source[base, end). */
let source: Uint8Array | null = null;
let base = 0;
let end = 0;

function bytewise(bytes: Uint8Array, from: number, to: number): number {
  for (let i = from; i < to; i++) if (NEEDS_ESCAPE[bytes[i]!] === 1) return i;
  return -1;
}

/**
 * Index of the first byte at or after `from` that needs escaping, or -1. Calls for the same bytes
 * with a growing `from` reuse the copy: call forget() before `bytes` (or another array) may have
 * changed since.
 */
export function scanFrom(bytes: Uint8Array, from: number): number {
  const n = bytes.length;
  // Escapes come in clusters in terminal output (\r\n, colour sequences): look close by first.
  const near = Math.min(n, from + 16);
  const close = bytewise(bytes, from, near);
  if (close >= 0) return close;
  let i = near;
  while (n - i >= SHORT) {
    if (source !== bytes || i < base || end - i < 16) {
      source = bytes;
      base = i;
      end = Math.min(n, i + CHUNK);
      memory.set(bytes.subarray(base, end));
    }
    const vectors = (end - i) & ~15;
    const hit = scan(i - base, i - base + vectors);
    if (hit >= 0) return bytewise(bytes, base + hit, base + hit + 16);
    i += vectors;
  }
  return bytewise(bytes, i, n);
}

/** The copy is stale: scanFrom copies afresh next time. */
export function forget(): void {
  source = null;
}
