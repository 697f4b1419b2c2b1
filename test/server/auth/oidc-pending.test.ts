import { describe, expect, it } from 'vitest';
import { PendingSignIns } from '../../../server/auth/oidc/pending.ts';

const sign = { state: 's-1', nonce: 'n-1', verifier: 'v-1', next: '/ui/sessions' };

describe('pending OIDC sign-ins (sealed cookie, state taken once)', () => {
  it('gives the sign-in back once, for its own state', () => {
    const p = new PendingSignIns({ secret: 'shh' });
    const cookie = p.seal(sign);
    expect(p.take(cookie, 'other-state')).toBeNull();
    expect(p.take(cookie, 's-1')).toMatchObject(sign);
    expect(p.take(cookie, 's-1')).toBeNull();
  });

  it('is readable by another replica with the same client secret, and by nobody else', () => {
    const cookie = new PendingSignIns({ secret: 'shh' }).seal(sign);
    expect(new PendingSignIns({ secret: 'other' }).take(cookie, 's-1')).toBeNull();
    expect(new PendingSignIns().take(cookie, 's-1')).toBeNull();
    expect(new PendingSignIns({ secret: 'shh' }).take(cookie, 's-1')).toMatchObject(sign);
  });

  it('refuses an altered, truncated or absent cookie', () => {
    const p = new PendingSignIns({ secret: 'shh' });
    const cookie = p.seal(sign);
    const raw = Buffer.from(cookie, 'base64url');
    raw[20] = raw[20]! ^ 1;
    expect(p.take(raw.toString('base64url'), 's-1')).toBeNull();
    expect(p.take(cookie.slice(0, 20), 's-1')).toBeNull();
    expect(p.take(undefined, 's-1')).toBeNull();
    expect(p.take(cookie, null)).toBeNull();
    expect(p.take(cookie, 's-1')).toMatchObject(sign);
  });

  it('expires after its lifetime', () => {
    let now = 1_000_000;
    const p = new PendingSignIns({ secret: 'shh', ttlMs: 60_000, now: () => now });
    const cookie = p.seal(sign);
    now += 60_000;
    expect(p.take(cookie, 's-1')).toBeNull();
  });

  it('forgets used states only once they expired (memory stays bounded)', () => {
    let now = 0;
    const p = new PendingSignIns({ secret: 'shh', ttlMs: 1000, maxUsed: 2, now: () => now });
    const first = p.seal({ ...sign, state: 'a' });
    expect(p.take(first, 'a')).not.toBeNull();
    expect(p.take(first, 'a')).toBeNull();
    now = 2000;
    // Expired: refused for its age now, and no longer remembered.
    expect(p.take(first, 'a')).toBeNull();
    for (const s of ['b', 'c', 'd']) expect(p.take(p.seal({ ...sign, state: s }), s)).not.toBeNull();
  });
});
