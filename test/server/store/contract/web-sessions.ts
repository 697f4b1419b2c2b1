// The browser sign-in sessions' store contract (WebSessionStore in server/auth/web-session.ts). Run
// for the in-memory default in test/ui/web-session.test.ts; an engine that shares sign-ins between
// replicas runs it with its own factory.
import { describe, expect, it } from 'vitest';
import type { WebSession, WebSessionStore } from '../../../../server/auth/web-session.ts';

function webSession(createdAt: number, o: Partial<WebSession> = {}): WebSession {
  return {
    viewer: { username: 'alice', groups: ['system:authenticated'], method: 'token' },
    csrf: `csrf-${createdAt}`,
    createdAt,
    lastSeenAt: createdAt,
    reviewedAt: createdAt,
    ...o,
  };
}

export function describeWebSessionContract(engine: string, open: () => Promise<WebSessionStore>): void {
  describe(`${engine}: web sessions`, () => {
    it('gives back what was put, sealed token included, and replaces on put', async () => {
      const store = await open();
      const s = webSession(1, { sealedToken: Buffer.from([1, 2, 3]) });
      await store.put('k1', s);
      expect(await store.get('k1')).toMatchObject({ csrf: 'csrf-1', sealedToken: Buffer.from([1, 2, 3]) });
      await store.put('k1', { ...s, lastSeenAt: 5, viewer: { ...s.viewer, groups: ['auditors'] } });
      expect(await store.get('k1')).toMatchObject({ lastSeenAt: 5, viewer: { groups: ['auditors'] } });
      expect(await store.get('k2')).toBeUndefined();
      expect(await store.count()).toBe(1);
    });

    it('keeps an OIDC sign-in’s expiry and sealed ID token, and none when it has none', async () => {
      const store = await open();
      const sealedIdToken = Buffer.from([4, 5, 6]);
      await store.put('oidc', webSession(1, { expiresAt: 1_800_000_000_000, sealedIdToken }));
      await store.put('token', webSession(1));
      expect(await store.get('oidc')).toMatchObject({ expiresAt: 1_800_000_000_000, sealedIdToken });
      expect((await store.get('token'))?.expiresAt).toBeUndefined();
      expect((await store.get('token'))?.sealedIdToken).toBeUndefined();
    });

    it('deletes', async () => {
      const store = await open();
      await store.put('k1', webSession(1));
      await store.delete('k1');
      expect(await store.get('k1')).toBeUndefined();
      await store.delete('k1');
    });

    it('prunes the expired, then the oldest beyond what it keeps', async () => {
      const store = await open();
      await store.put('old', webSession(10));
      await store.put('idle', webSession(20, { lastSeenAt: 25 }));
      for (const t of [30, 40, 50]) await store.put(`k${t}`, webSession(t, { lastSeenAt: 100 }));
      await store.prune({ createdBefore: 10, seenBefore: 25, keep: 2 });
      expect(await store.get('old')).toBeUndefined();
      expect(await store.get('idle')).toBeUndefined();
      expect(await store.get('k30')).toBeUndefined();
      expect(await store.get('k40')).toBeDefined();
      expect(await store.get('k50')).toBeDefined();
      expect(await store.count()).toBe(2);
    });
  });
}
