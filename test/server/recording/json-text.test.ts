import { describe, expect, it } from 'vitest';
import { forget, scanFrom } from '../../../server/recording/escape-scan.ts';
import { escapeJson, incompleteTail, JsonTextStream } from '../../../server/recording/json-text.ts';

/** What the recorder wrote before: a streaming TextDecoder, then JSON.stringify. */
class Reference {
  readonly #decoder = new TextDecoder('utf-8', { fatal: false });
  write(bytes: Uint8Array): string {
    return JSON.stringify(this.#decoder.decode(bytes, { stream: true })).slice(1, -1);
  }
  end(): string {
    return JSON.stringify(this.#decoder.decode()).slice(1, -1);
  }
}

/** Deterministic PRNG so a failure reproduces. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const text = (b: Uint8Array) => Buffer.from(b).toString('utf8');
const SAMPLES = ['x', 'é', '€', '😀', '\x1b[0m', '\r\n', '"', '\\', '\t', '\x00', '\x7f', '\u2028'];

/** Terminal-like bytes: mostly text, some escapes and multi-byte characters, some garbage. */
function randomBytes(next: () => number, length: number, garbage: number): Buffer {
  const parts: Buffer[] = [];
  let n = 0;
  while (n < length) {
    const r = next();
    const part =
      r < garbage
        ? Buffer.from([Math.floor(next() * 256)])
        : Buffer.from(SAMPLES[Math.floor(next() * SAMPLES.length)]!);
    parts.push(part);
    n += part.length;
  }
  return Buffer.concat(parts);
}

/** The first byte to escape at or after `from`, from a fresh copy. */
function nextEscape(bytes: Uint8Array, from = 0): number {
  forget();
  return scanFrom(bytes, from);
}

describe('JsonTextStream', () => {
  it('matches TextDecoder + JSON.stringify on every write, however the bytes are split', () => {
    for (let seed = 1; seed <= 400; seed++) {
      const next = rng(seed);
      const bytes = randomBytes(next, 1 + Math.floor(next() * 300), seed % 4 === 0 ? 0.2 : 0.02);
      const ours = new JsonTextStream();
      const ref = new Reference();
      let at = 0;
      while (at < bytes.length) {
        const len = 1 + Math.floor(next() * 12);
        // Unaligned views of a larger buffer, as ws hands them over.
        const chunk = bytes.subarray(at, at + len);
        expect(text(ours.write(chunk)), `seed ${seed} at ${at}`).toBe(ref.write(chunk));
        at += len;
      }
      expect(text(ours.end()), `seed ${seed} end`).toBe(ref.end());
    }
  });

  it('passes plain text through without copying it', () => {
    const bytes = Buffer.from('plain text, ünïcödé and €: nothing to escape');
    expect(new JsonTextStream().write(bytes)).toBe(bytes);
  });

  it('holds a split character until it is whole, and flushes an unfinished one as U+FFFD', () => {
    const euro = Buffer.from('€');
    const s = new JsonTextStream();
    expect(text(s.write(Buffer.concat([Buffer.from('a'), euro.subarray(0, 2)])))).toBe('a');
    expect(text(s.write(euro.subarray(2)))).toBe('€');
    expect(text(s.write(euro.subarray(0, 1)))).toBe('');
    expect(text(s.end())).toBe('\ufffd');
  });
});

describe('escapeJson and nextEscape', () => {
  it('escape exactly as JSON.stringify does', () => {
    const all = Buffer.from(Array.from({ length: 128 }, (_, i) => i));
    expect(text(escapeJson(all))).toBe(JSON.stringify(all.toString('latin1')).slice(1, -1));
  });

  it('find the first byte to escape at any alignment', () => {
    const next = rng(7);
    for (let trial = 0; trial < 2000; trial++) {
      const b = Buffer.from(
        Array.from({ length: 1 + (trial % 70) }, () =>
          next() < 0.03 ? Math.floor(next() * 256) : 0x20 + Math.floor(next() * 224),
        ),
      ).subarray(trial % 4);
      const from = Math.floor(next() * (b.length + 1));
      const naive = b.findIndex((c, i) => i >= from && (c < 0x20 || c === 0x22 || c === 0x5c));
      expect(nextEscape(b, from)).toBe(naive);
    }
  });

  it('hold back only a valid unfinished UTF-8 prefix', () => {
    expect(incompleteTail(Buffer.from([0x61, 0xe2, 0x82]))).toBe(2);
    expect(incompleteTail(Buffer.from([0xf0, 0x9f, 0x98]))).toBe(3);
    expect(incompleteTail(Buffer.from([0xe0, 0x80]))).toBe(0); // E0 80 can never be a character
    expect(incompleteTail(Buffer.from([0xc0]))).toBe(0);
    expect(incompleteTail(Buffer.from('€'))).toBe(0);
  });
});
