import { describe, expect, it } from 'vitest';
import type { UserInfo } from '../../server/auth/user.ts';
import { WebSessions } from '../../server/auth/web-session.ts';

const alice: UserInfo = { username: 'alice', groups: ['system:authenticated'], method: 'token' };

describe('web sessions', () => {
  it('issues long random ids and unique CSRF tokens', () => {
    const t = new WebSessions();
    const a = t.create(alice);
    const b = t.create(alice);
    expect(a.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a.id).not.toBe(b.id);
    expect(a.session.csrf).not.toBe(b.session.csrf);
    expect(t.get(a.id)?.viewer.username).toBe('alice');
    expect(t.get('forged')).toBeNull();
  });

  it('expires after the idle time without use, and touching extends it', () => {
    let now = 0;
    const t = new WebSessions({ idleTtlMs: 1000, absoluteTtlMs: 10_000, now: () => now });
    const { id } = t.create(alice);
    now = 900;
    expect(t.get(id)).not.toBeNull();
    now = 1800;
    expect(t.get(id)).not.toBeNull();
    now = 2800;
    expect(t.get(id)).toBeNull();
  });

  it('expires at the absolute lifetime however active', () => {
    let now = 0;
    const t = new WebSessions({ idleTtlMs: 1000, absoluteTtlMs: 3000, now: () => now });
    const { id } = t.create(alice);
    for (now = 500; now < 3000; now += 500) expect(t.get(id)).not.toBeNull();
    now = 3000;
    expect(t.get(id)).toBeNull();
  });

  it('logout destroys; the table is bounded', () => {
    const t = new WebSessions({ maxSessions: 2 });
    const a = t.create(alice);
    t.destroy(a.id);
    expect(t.get(a.id)).toBeNull();
    const b = t.create(alice);
    t.create(alice);
    t.create(alice);
    expect(t.size).toBe(2);
    expect(t.get(b.id)).toBeNull();
  });
});

describe('web session token review', () => {
  it('keeps the token sealed, due for review only after the interval, and only for its own cookie', () => {
    let now = 0;
    const t = new WebSessions({ reviewIntervalMs: 1000, now: () => now });
    const { id, session } = t.create(alice, 'secret-token');
    expect(session.sealedToken?.includes(Buffer.from('secret-token'))).toBe(false);
    expect(t.tokenDue(id, session)).toBeNull();
    now = 1000;
    expect(t.tokenDue(id, session)).toBe('secret-token');
    // Another cookie id derives another key: the sealed token does not open.
    const other = t.create(alice, 'other');
    expect(t.tokenDue(other.id, session)).toBeNull();
    t.reviewed(session, { ...alice, groups: ['auditors', 'system:authenticated'] });
    expect(t.tokenDue(id, session)).toBeNull();
    expect(t.get(id)?.viewer.groups).toContain('auditors');
  });

  it('never asks for a review of a session signed in without a token', () => {
    let now = 0;
    const t = new WebSessions({ reviewIntervalMs: 1, now: () => now });
    const { id, session } = t.create(alice);
    now = 10;
    expect(t.tokenDue(id, session)).toBeNull();
  });
});
