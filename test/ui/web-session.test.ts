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
