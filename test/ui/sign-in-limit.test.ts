import { describe, expect, it } from 'vitest';
import { MemorySignInFailures, SignInLimit } from '../../server/ui/sign-in-limit.ts';
import { describeSignInFailureContract } from '../server/store/contract/sign-ins.ts';

describe('failed sign-in limit', () => {
  it('blocks an address after max failures until the oldest leaves the window', async () => {
    let now = 0;
    const l = new SignInLimit({ max: 3, windowMs: 10_000, now: () => now });
    for (const t of [0, 1000, 2000]) {
      expect(await l.retryAfter('10.0.0.1')).toBe(0);
      now = t;
      await l.failed('10.0.0.1');
    }
    expect(await l.retryAfter('10.0.0.1')).toBe(8);
    expect(await l.retryAfter('10.0.0.2')).toBe(0);
    now = 10_001;
    expect(await l.retryAfter('10.0.0.1')).toBe(0);
  });

  it('forgets an address on success and bounds how many it remembers', async () => {
    const l = new SignInLimit({ max: 1, windowMs: 60_000, maxAddresses: 2, now: () => 0 });
    await l.failed('a');
    expect(await l.retryAfter('a')).toBeGreaterThan(0);
    await l.succeeded('a');
    expect(await l.retryAfter('a')).toBe(0);
    await l.failed('a');
    await l.failed('b');
    await l.failed('c');
    expect(await l.retryAfter('a')).toBe(0);
    expect(await l.retryAfter('c')).toBeGreaterThan(0);
  });
});

describeSignInFailureContract('memory', async () => new MemorySignInFailures({ maxAddresses: 100 }));
