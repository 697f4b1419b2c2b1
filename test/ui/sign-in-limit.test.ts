import { describe, expect, it } from 'vitest';
import { SignInLimit } from '../../server/ui/sign-in-limit.ts';

describe('failed sign-in limit', () => {
  it('blocks an address after max failures until the oldest leaves the window', () => {
    let now = 0;
    const l = new SignInLimit({ max: 3, windowMs: 10_000, now: () => now });
    for (const t of [0, 1000, 2000]) {
      expect(l.retryAfter('10.0.0.1')).toBe(0);
      now = t;
      l.failed('10.0.0.1');
    }
    expect(l.retryAfter('10.0.0.1')).toBe(8);
    expect(l.retryAfter('10.0.0.2')).toBe(0);
    now = 10_001;
    expect(l.retryAfter('10.0.0.1')).toBe(0);
  });

  it('forgets an address on success and bounds how many it remembers', () => {
    const l = new SignInLimit({ max: 1, windowMs: 60_000, maxAddresses: 2, now: () => 0 });
    l.failed('a');
    expect(l.retryAfter('a')).toBeGreaterThan(0);
    l.succeeded('a');
    expect(l.retryAfter('a')).toBe(0);
    l.failed('a');
    l.failed('b');
    l.failed('c');
    expect(l.retryAfter('a')).toBe(0);
    expect(l.retryAfter('c')).toBeGreaterThan(0);
  });
});
