// recording.cast checked line by line while it streams says what decodeAsciicast says of the
// whole file, word for word, however the bytes are cut; a line no recorder writes is refused by
// line number instead of being held.
import { describe, expect, it } from 'vitest';
import { decodeAsciicast } from '../../common/asciicast.ts';
import { CAST_LINE_LIMIT, CastCheck } from '../../common/evidence/cast-check.ts';
import { recording } from './fixture.ts';

const enc = new TextEncoder();
const HEADER = '{"version":2,"width":80,"height":24}\n';

function whole(bytes: Uint8Array): string | null {
  try {
    decodeAsciicast(new TextDecoder().decode(bytes));
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

function streamed(bytes: Uint8Array, piece: number): string | null {
  const check = new CastCheck();
  for (let at = 0; at < bytes.length; at += piece) check.write(bytes.subarray(at, at + piece));
  return check.end()?.message ?? null;
}

const cases: [string, Uint8Array][] = [
  ['the fixture recording', recording],
  ['an empty file', new Uint8Array()],
  ['only a partial header', enc.encode('{"version":2')],
  ['a header only', enc.encode(HEADER)],
  ['an empty first line', enc.encode('\n[1,"o","x"]\n')],
  ['a header that is not JSON', enc.encode('{"version":2,\n')],
  ['a v1 header', enc.encode('{"version":1,"width":80,"height":24}\n')],
  ['a BOM before the header', new Uint8Array([0xef, 0xbb, 0xbf, ...enc.encode(HEADER)])],
  [
    'a BOM before an event',
    new Uint8Array([...enc.encode(HEADER), 0xef, 0xbb, 0xbf, ...enc.encode('[1,"o","x"]\n')]),
  ],
  ['empty lines between events', enc.encode(`${HEADER}[1,"o","a"]\n\n\n[2,"o","b"]\n`)],
  ['an event that is not JSON on line 4', enc.encode(`${HEADER}[1,"o","a"]\n[2,"o","b"]\n[3,"o",\n`)],
  ['an event that is not an array', enc.encode(`${HEADER}[1,"o","a"]\n{"t":2}\n`)],
  ['an event with a numeric code', enc.encode(`${HEADER}[1,2,"a"]\n`)],
  ['a partial last line (a recorder crash)', enc.encode(`${HEADER}[1,"o","a"]\n[2,"o`)],
  ['multi-byte characters', enc.encode(`${HEADER}[1,"o","ü€😀 ok"]\n[2,"o","日本語"]\n`)],
  [
    'broken UTF-8 inside a string',
    new Uint8Array([...enc.encode(`${HEADER}[1,"o","`), 0xe2, 0x82, ...enc.encode('"]\n')]),
  ],
  ['broken UTF-8 outside strings', new Uint8Array([...enc.encode(`${HEADER}[1,"o","a"]`), 0xff, 0x0a])],
];

describe('CastCheck', () => {
  it.each(cases)('agrees with decodeAsciicast on %s, cut into any pieces', (_, bytes) => {
    const expected = whole(bytes);
    for (const piece of [1, 2, 3, 5, 64, 4096, Math.max(1, bytes.length)]) {
      expect(streamed(bytes, piece)).toBe(expected);
    }
  });

  it('reports the first problem only, by its line number', () => {
    const bytes = enc.encode(`${HEADER}[1,"o","a"]\nnope\n[\n`);
    expect(streamed(bytes, 3)).toBe('asciicast line 3: invalid JSON');
  });

  it('refuses a line longer than any recorded event, naming it, without holding it', () => {
    const check = new CastCheck();
    check.write(enc.encode(`${HEADER}[1,"o","a"]\n[2,"o","`));
    const MiB = new Uint8Array(1024 * 1024).fill(0x61);
    for (let n = 0; n <= CAST_LINE_LIMIT / MiB.length; n++) check.write(MiB);
    check.write(enc.encode('"]\n[3,"o","b"]\n'));
    expect(check.end()?.message).toBe(
      'asciicast line 3: longer than 128 MiB, more than one recorded event can be',
    );
  });
});
