import { describe, expect, it } from 'vitest';
import { forget, scanFrom } from '../../../server/recording/escape-scan.ts';
import { escapeJson } from '../../../server/recording/json-text.ts';

const CHUNK = 1 << 20;
const naive = (b: Uint8Array, from: number) =>
  b.findIndex((c, i) => i >= from && (c < 0x20 || c === 0x22 || c === 0x5c));

/** The first byte to escape at or after `from`, from a fresh copy. */
function nextEscape(bytes: Uint8Array, from = 0): number {
  forget();
  return scanFrom(bytes, from);
}

describe('nextEscape (16 bytes a step)', () => {
  it('finds each kind of byte at every lane of a step, and in the bytewise tail', () => {
    for (const bad of [0x00, 0x0a, 0x1b, 0x1f, 0x22, 0x5c]) {
      for (let at = 0; at < 300; at++) {
        const b = Buffer.alloc(300, 'x');
        b[at] = bad;
        expect(nextEscape(b, 0)).toBe(at);
        expect(nextEscape(b, at + 1)).toBe(-1);
      }
    }
    // Bytes that only look close to one: 0x20, 0x21, 0x23, 0x5b, 0x5d, 0x7f and above.
    const near = Buffer.from(
      Array.from({ length: 512 }, (_, i) => [0x20, 0x21, 0x23, 0x5b, 0x5d, 0x7f, 0x80, 0xff][i % 8]!),
    );
    expect(nextEscape(near, 0)).toBe(-1);
  });

  it('finds escapes on both sides of a copied chunk, from any start, in views at any offset', () => {
    const big = Buffer.alloc(3 * CHUNK + 37, 'x');
    const hits = [5, CHUNK - 1, CHUNK, CHUNK + 15, 2 * CHUNK - 8, 3 * CHUNK + 36];
    for (const h of hits) big[h] = 0x22;
    for (const offset of [0, 1, 3]) {
      const view = big.subarray(offset);
      let found: number[] = [];
      for (let k = scanFrom(view, 0); k >= 0; k = scanFrom(view, k + 1)) found.push(k + offset);
      expect(found).toEqual(hits.filter((h) => h >= offset));
      found = [];
      for (const from of [0, 6, CHUNK - 3, CHUNK + 1, 3 * CHUNK]) found.push(nextEscape(view, from));
      expect(found).toEqual([0, 6, CHUNK - 3, CHUNK + 1, 3 * CHUNK].map((f) => naive(view, f)));
    }
  });

  it('does not answer from a stale copy once told the bytes changed (escapeJson reuses buffers safely)', () => {
    const b = Buffer.alloc(4096, 'x');
    expect(escapeJson(b)).toBe(b);
    b[4000] = 0x0a;
    expect(Buffer.from(escapeJson(b)).toString('latin1')).toBe(
      JSON.stringify(b.toString('latin1')).slice(1, -1),
    );
  });

  it('escapes large text exactly as JSON.stringify does', () => {
    const lines = Buffer.from('a "quoted" line\\with\ttabs\x1b[0m\r\n'.repeat(80_000));
    expect(lines.length).toBeGreaterThan(2 * CHUNK);
    expect(Buffer.from(escapeJson(lines)).toString('latin1')).toBe(
      JSON.stringify(lines.toString('latin1')).slice(1, -1),
    );
  });
});
