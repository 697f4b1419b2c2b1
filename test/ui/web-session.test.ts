import { describe, expect, it } from 'vitest';
import type { UserInfo } from '../../server/auth/user.ts';
import { MemoryWebSessions, WebSessions } from '../../server/auth/web-session.ts';
import { describeWebSessionContract } from '../server/store/contract/web-sessions.ts';

const alice: UserInfo = { username: 'alice', groups: ['system:authenticated'], method: 'token' };

describe('web sessions', () => {
  it('issues long random ids and unique CSRF tokens', async () => {
    const t = new WebSessions();
    const a = await t.create(alice);
    const b = await t.create(alice);
    expect(a.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a.id).not.toBe(b.id);
    expect(a.session.csrf).not.toBe(b.session.csrf);
    expect((await t.get(a.id))?.viewer.username).toBe('alice');
    expect(await t.get('forged')).toBeNull();
  });

  it('expires after the idle time without use, and touching extends it', async () => {
    let now = 0;
    const t = new WebSessions({ idleTtlMs: 1000, absoluteTtlMs: 10_000, now: () => now });
    const { id } = await t.create(alice);
    now = 900;
    expect(await t.get(id)).not.toBeNull();
    now = 1800;
    expect(await t.get(id)).not.toBeNull();
    now = 2800;
    expect(await t.get(id)).toBeNull();
  });

  it('expires at its own expiry (an ID token’s) when that comes before the absolute lifetime', async () => {
    let now = 0;
    const t = new WebSessions({ idleTtlMs: 1000, absoluteTtlMs: 3000, now: () => now });
    const { id } = await t.create(alice, undefined, { expiresAt: 1200 });
    const late = await t.create(alice, undefined, { expiresAt: 10_000 });
    now = 800;
    expect(await t.get(id)).not.toBeNull();
    expect(await t.get(late.id)).not.toBeNull();
    now = 1200;
    expect(await t.get(id)).toBeNull();
    expect(await t.get(late.id)).not.toBeNull();
    // A later expiry does not extend the absolute lifetime.
    for (now = 1500; now < 3000; now += 500) expect(await t.get(late.id)).not.toBeNull();
    now = 3000;
    expect(await t.get(late.id)).toBeNull();
  });

  it('keeps an ID token sealed: the cookie id opens it, nothing else does', async () => {
    const t = new WebSessions();
    const { id, session } = await t.create(alice, undefined, { idToken: 'header.claims.signature' });
    expect(session.sealedIdToken?.toString()).not.toContain('claims');
    expect(t.idToken(id, session)).toBe('header.claims.signature');
    expect(t.idToken('another-cookie', session)).toBeNull();
    expect(t.idToken(id, (await t.create(alice)).session)).toBeNull();
  });

  it('expires at the absolute lifetime however active', async () => {
    let now = 0;
    const t = new WebSessions({ idleTtlMs: 1000, absoluteTtlMs: 3000, now: () => now });
    const { id } = await t.create(alice);
    for (now = 500; now < 3000; now += 500) expect(await t.get(id)).not.toBeNull();
    now = 3000;
    expect(await t.get(id)).toBeNull();
  });

  it('logout destroys; the table is bounded', async () => {
    const t = new WebSessions({ maxSessions: 2 });
    const a = await t.create(alice);
    await t.destroy(a.id);
    expect(await t.get(a.id)).toBeNull();
    const b = await t.create(alice);
    await t.create(alice);
    await t.create(alice);
    expect(await t.count()).toBe(2);
    expect(await t.get(b.id)).toBeNull();
  });
});

describe('web session token review', () => {
  it('keeps the token sealed, due for review only after the interval, and only for its own cookie', async () => {
    let now = 0;
    const t = new WebSessions({ reviewIntervalMs: 1000, now: () => now });
    const { id, session } = await t.create(alice, 'secret-token');
    expect(session.sealedToken?.includes(Buffer.from('secret-token'))).toBe(false);
    expect(t.tokenDue(id, session)).toBeNull();
    now = 1000;
    expect(t.tokenDue(id, session)).toBe('secret-token');
    // Another cookie id derives another key: the sealed token does not open.
    const other = await t.create(alice, 'other');
    expect(t.tokenDue(other.id, session)).toBeNull();
    await t.reviewed(id, session, { ...alice, groups: ['auditors', 'system:authenticated'] });
    expect(t.tokenDue(id, session)).toBeNull();
    expect((await t.get(id))?.viewer.groups).toContain('auditors');
  });

  it('never asks for a review of a session signed in without a token', async () => {
    let now = 0;
    const t = new WebSessions({ reviewIntervalMs: 1, now: () => now });
    const { id, session } = await t.create(alice);
    now = 10;
    expect(t.tokenDue(id, session)).toBeNull();
  });
});

describeWebSessionContract('memory', async () => new MemoryWebSessions());
