import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../common/evidence/canonical-json.ts';

describe('canonicalJson', () => {
  it('sorts keys at every depth and writes no whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: null, y: true }], c: 'x y' } })).toBe(
      '{"a":{"c":"x y","d":[3,{"y":true,"z":null}]},"b":1}',
    );
  });

  it('orders keys by UTF-16 code units, not locale', () => {
    expect(canonicalJson({ é: 1, z: 2, Z: 3, _: 4, '10': 5, '9': 6 })).toBe(
      '{"10":5,"9":6,"Z":3,"_":4,"z":2,"é":1}',
    );
  });

  it('drops undefined fields like JSON.stringify and writes -0 as 0', () => {
    expect(canonicalJson({ a: undefined, b: -0, c: 1.5e-7 })).toBe('{"b":0,"c":1.5e-7}');
  });

  it('escapes strings exactly as JSON.stringify', () => {
    expect(canonicalJson('a"\\\n\u0001\u2028')).toBe(JSON.stringify('a"\\\n\u0001\u2028'));
  });

  it('refuses values that would not survive a JSON round trip', () => {
    expect(() => canonicalJson({ x: Number.NaN })).toThrow(/\$\.x: NaN/);
    expect(() => canonicalJson({ t: new Date(0) })).toThrow(/Date/);
    const sparse = [1];
    sparse[2] = 3;
    expect(() => canonicalJson(sparse)).toThrow(/sparse/);
    expect(() => canonicalJson({ n: 1n })).toThrow(/bigint/);
  });

  it('is stable under key order and round-trips through JSON.parse', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const text = canonicalJson(v);
        expect(canonicalJson(JSON.parse(text))).toBe(text);
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(v)));
      }),
    );
  });
});
