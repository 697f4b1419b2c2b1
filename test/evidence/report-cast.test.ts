import { describe, expect, it } from 'vitest';
import { reportCast } from '../../server/evidence/bundle.ts';

describe('reportCast', () => {
  const enc = new TextEncoder();
  const cast = enc.encode('{"version":2}\n[0.1,"o","aaaa"]\n[0.2,"o","bbbb"]\n');

  it('embeds a recording under the limit whole', () => {
    expect(reportCast(cast)).toEqual({ cast, embeddedBytes: cast.length });
  });

  it('cuts a large recording at a line boundary below the limit', () => {
    const r = reportCast(cast, 40);
    expect(new TextDecoder().decode(r.cast)).toBe('{"version":2}\n[0.1,"o","aaaa"]\n');
    expect(r.embeddedBytes).toBe(r.cast.length);
    expect(r.embeddedBytes).toBeLessThanOrEqual(40);
  });

  it('cuts by the whole recording size when given only its first bytes', () => {
    const r = reportCast(cast.subarray(0, 40), 40, cast.length);
    expect(new TextDecoder().decode(r.cast)).toBe('{"version":2}\n[0.1,"o","aaaa"]\n');
  });
});
