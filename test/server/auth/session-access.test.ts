// The one session-access service (server/auth/session-access.ts): the owner without asking RBAC,
// everyone else by SubjectAccessReview, list answers from one cache, and requireViewableSession's
// refusals as codes (load → SESSION_NOT_FOUND → canView → SESSION_FORBIDDEN). In memory.
import { describe, expect, it } from 'vitest';
import type { SessionRecord } from '../../../common/wire.ts';
import type { AccessQuery, NonResourceQuery } from '../../../server/auth/access.ts';
import { requireViewableSession, SessionAccess } from '../../../server/auth/session-access.ts';
import type { UserInfo } from '../../../server/auth/user.ts';

const ID = '22222222-2222-4222-8222-222222222222';
const SESSION = {
  id: ID,
  kind: 'exec',
  namespace: 'shop',
  user: 'alice',
  uid: 'uid-alice',
} as SessionRecord;
const alice: UserInfo = { username: 'alice', uid: 'uid-alice', groups: [], method: 'token' };
const auditor: UserInfo = { username: 'auditor', groups: ['auditors'], method: 'token' };

function setup(now = { t: 0 }) {
  const asked: (AccessQuery | NonResourceQuery)[] = [];
  const access = new SessionAccess({
    reviewer: {
      allowed: async (user, q) => {
        asked.push(q);
        return user.groups.includes('auditors');
      },
    },
    ttlMs: 1000,
    now: () => now.t,
  });
  const sessions = { getSession: async (id: string) => (id === ID ? SESSION : undefined) };
  return { access, asked, sessions, now };
}

describe('SessionAccess', () => {
  it('lets the owner see the session without a SubjectAccessReview, never update it', async () => {
    const { access, asked } = setup();
    expect(await access.canView(alice, SESSION)).toBe(true);
    expect(asked).toEqual([]);
    expect(await access.mayUpdate(alice, SESSION)).toBe(false);
    expect(asked).toEqual([
      { verb: 'update', resource: 'sessions', group: 'audited-exec.io', namespace: 'shop', name: ID },
    ]);
  });

  it('answers list rights from its one cache until the entry is older than ttlMs', async () => {
    const { access, asked, now } = setup();
    expect(await access.mayList(auditor, 'shop')).toBe(true);
    expect(await access.keep(auditor, [SESSION, { ...SESSION, user: 'bob', uid: 'uid-bob' }])).toEqual([
      true,
      true,
    ]);
    expect(asked.filter((q) => 'verb' in q && q.verb === 'list')).toHaveLength(2); // shop, then '*'
    await access.mayList(auditor, 'shop');
    expect(asked).toHaveLength(2);
    now.t = 1000;
    await access.mayList(auditor, 'shop');
    expect(asked).toHaveLength(3);
  });
});

describe('requireViewableSession', () => {
  it('returns the session to its owner and to a viewer RBAC allows', async () => {
    const { access, sessions } = setup();
    await expect(requireViewableSession({ access, sessions }, alice, ID)).resolves.toBe(SESSION);
    await expect(requireViewableSession({ access, sessions }, auditor, ID)).resolves.toBe(SESSION);
  });

  it('refuses with a code: bad id, not found, forbidden', async () => {
    const { access, sessions } = setup();
    const other: UserInfo = { username: 'bob', groups: [], method: 'token' };
    await expect(requireViewableSession({ access, sessions }, alice, 'nope')).rejects.toMatchObject({
      code: 'SESSION_BAD_ID',
    });
    await expect(
      requireViewableSession({ access, sessions }, alice, '33333333-3333-4333-8333-333333333333'),
    ).rejects.toMatchObject({ code: 'SESSION_NOT_FOUND' });
    await expect(requireViewableSession({ access, sessions }, other, ID)).rejects.toMatchObject({
      code: 'SESSION_FORBIDDEN',
      message: expect.stringContaining('needs get on sessions.audited-exec.io'),
    });
  });
});
