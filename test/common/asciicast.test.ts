import { describe, expect, it } from 'vitest';
import {
  AsciicastError,
  decodeAsciicast,
  encodeEvent,
  encodeHeader,
  outputText,
  parseResizeData,
  Utf8Stream,
} from '../../common/asciicast.ts';

describe('asciicast codec', () => {
  it('round-trips a header and events, with microsecond times', () => {
    const text =
      encodeHeader({ version: 2, width: 80, height: 24, timestamp: 1700000000, env: { TERM: 'xterm' } }) +
      encodeEvent({ time: 0.1234567, code: 'o', data: 'hi\r\n"quoted"\u001b[0m' }) +
      encodeEvent({ time: 1.5, code: 'r', data: '100x30' });
    const cast = decodeAsciicast(text);
    expect(cast.header).toEqual({
      version: 2,
      width: 80,
      height: 24,
      timestamp: 1700000000,
      env: { TERM: 'xterm' },
    });
    expect(cast.events).toEqual([
      { time: 0.123457, code: 'o', data: 'hi\r\n"quoted"\u001b[0m' },
      { time: 1.5, code: 'r', data: '100x30' },
    ]);
    expect(parseResizeData('100x30')).toEqual({ width: 100, height: 30 });
  });

  it('ignores a trailing partial line (a recording cut by a crash) but rejects bad lines inside', () => {
    const head = encodeHeader({ version: 2, width: 80, height: 24 });
    expect(
      outputText(decodeAsciicast(`${head}${encodeEvent({ time: 0, code: 'o', data: 'a' })}[0.5, "o", "b`)),
    ).toBe('a');
    expect(() => decodeAsciicast(`${head}not json\n`)).toThrow(AsciicastError);
    expect(() => decodeAsciicast('{"version":1}\n')).toThrow(/not an asciicast v2 header/);
  });

  it('keeps a UTF-8 sequence split across frames whole, per stream', () => {
    const euro = Buffer.from('€', 'utf8'); // e2 82 ac
    const out = new Utf8Stream();
    const err = new Utf8Stream();
    expect(out.write(Buffer.concat([Buffer.from('a'), euro.subarray(0, 1)]))).toBe('a');
    expect(err.write(Buffer.from('x'))).toBe('x');
    expect(out.write(euro.subarray(1, 2))).toBe('');
    expect(out.write(Buffer.concat([euro.subarray(2), Buffer.from('b')]))).toBe('€b');
    expect(out.write(euro.subarray(0, 2))).toBe('');
    expect(out.end()).toBe('\ufffd');
  });
});
