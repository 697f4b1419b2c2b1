// The session store contract (Store in server/store/store.ts), for every engine.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SessionRecord } from '../../../../common/wire.ts';
import { StoreError } from '../../../../server/store/errors.ts';
import type { RecorderStore } from '../../../../server/store/store.ts';
import { at, type OpenedStore, type StoreFactory, sessionId, sessionRecord } from './factory.ts';

export function describeSessionContract(engine: string, factory: StoreFactory): void {
  describe(`${engine}: sessions`, () => {
    let opened: OpenedStore;
    let store: RecorderStore;
    beforeEach(async () => {
      opened = await factory.open();
      store = opened.store;
    });
    afterEach(() => opened.dispose());

    it('gives back what it was given, every field', async () => {
      const full = sessionRecord(1, {
        uid: 'u-1',
        impersonator: 'system:serviceaccount:audited-exec:recorder',
        reason: 'incident 7',
        ticket: 'OPS-1',
        containerId: 'containerd://abc',
        recordingBytes: 1234,
        recordingSha256: 'f'.repeat(64),
        commandCount: 3,
        alertCount: 1,
        legalHold: false,
        error: 'the pod went away',
        replica: 'recorder-0',
      });
      await store.insertSession(full);
      expect(await store.getSession(full.id)).toEqual(full);
      expect(await store.getSession(sessionId(999))).toBeUndefined();
    });

    it('keeps an ended session without an exit code as exitCode null', async () => {
      const s = sessionRecord(2, { exitCode: null });
      await store.insertSession(s);
      expect((await store.getSession(s.id))?.exitCode).toBeNull();
    });

    it('merges updates and leaves other fields alone', async () => {
      const s = sessionRecord(3, { state: 'running', endedAt: undefined, exitCode: undefined });
      await store.insertSession(s);
      await store.updateSession(s.id, { recordingBytes: 10 });
      await store.updateSession(s.id, { state: 'ended', endedAt: at(4), exitCode: 2 });
      expect(await store.getSession(s.id)).toEqual({
        ...s,
        recordingBytes: 10,
        state: 'ended',
        endedAt: at(4),
        exitCode: 2,
      });
    });

    it('stores a terminated session with who ended it and why, and finds it by that state', async () => {
      const s = sessionRecord(6, { state: 'running', endedAt: undefined, exitCode: undefined });
      await store.insertSession(s);
      const patch = {
        state: 'terminated' as const,
        endedAt: at(5),
        terminatedBy: 'moderator',
        terminationReason: 'runaway "job" — stop it',
      };
      await store.updateSession(s.id, patch);
      const stored = await store.getSession(s.id);
      expect(stored).toEqual({ ...s, ...patch });
      expect(stored?.exitCode).toBeUndefined();
      const page = await store.listSessions({ state: 'terminated' });
      expect(page.items.map((x) => x.id)).toEqual([s.id]);
    });

    it('records a legal hold and its release', async () => {
      const s = sessionRecord(4);
      await store.insertSession(s);
      await store.updateSession(s.id, { legalHold: true });
      expect((await store.getSession(s.id))?.legalHold).toBe(true);
      await store.updateSession(s.id, { legalHold: false });
      expect((await store.getSession(s.id))?.legalHold).toBe(false);
    });

    it('lets exactly one caller move a session out of a state', async () => {
      const s = sessionRecord(5, { state: 'pending', endedAt: undefined, exitCode: undefined });
      await store.insertSession(s);
      const tries = await Promise.all(
        [1, 2, 3].map(() => store.transitionSession(s.id, 'pending', { state: 'running' })),
      );
      expect(tries.filter(Boolean)).toHaveLength(1);
      expect(await store.transitionSession(s.id, 'pending', { state: 'ended' })).toBe(false);
      expect(await store.transitionSession(sessionId(998), 'pending', { state: 'running' })).toBe(false);
      expect((await store.getSession(s.id))?.state).toBe('running');
    });

    describe('listing', () => {
      const all: SessionRecord[] = [];
      beforeEach(async () => {
        all.length = 0;
        for (let n = 10; n < 40; n++) {
          const s = sessionRecord(n, {
            user: n % 3 === 0 ? 'bob' : 'alice',
            namespace: n % 2 ? 'prod' : 'dev',
            pod: `pod-${n % 4}`,
            node: `node-${n % 5}`,
            state: n % 7 === 0 ? 'interrupted' : 'ended',
            // two sessions share each start time: the id breaks the tie
            startedAt: at(Math.floor(n / 2)),
          });
          all.push(s);
          await store.insertSession(s);
        }
      });
      const newestFirst = (rows: SessionRecord[]) =>
        [...rows].sort((a, b) =>
          a.startedAt === b.startedAt ? (a.id < b.id ? 1 : -1) : a.startedAt < b.startedAt ? 1 : -1,
        );

      it('pages newest first, by start time then id, every session once', async () => {
        const seen: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await store.listSessions({ limit: 7, ...(cursor ? { continue: cursor } : {}) });
          expect(page.items.length).toBeLessThanOrEqual(7);
          seen.push(...page.items.map((s) => s.id));
          cursor = page.continue;
        } while (cursor);
        expect(seen).toEqual(newestFirst(all).map((s) => s.id));
      });

      it('has no cursor on the last page', async () => {
        expect((await store.listSessions({ limit: 30 })).continue).toBeUndefined();
        expect((await store.listSessions({ limit: 29 })).continue).toBeDefined();
      });

      it('filters by user, namespace, pod, node, state and time', async () => {
        const q = {
          user: 'alice',
          namespace: 'prod',
          pod: 'pod-1',
          state: 'ended' as const,
          since: at(6),
          until: at(18),
        };
        const want = all.filter(
          (s) =>
            s.user === q.user &&
            s.namespace === q.namespace &&
            s.pod === q.pod &&
            s.state === q.state &&
            s.startedAt >= q.since &&
            s.startedAt < q.until,
        );
        expect(want.length).toBeGreaterThan(0);
        expect((await store.listSessions(q)).items).toEqual(newestFirst(want));
        const onNode = (await store.listSessions({ node: 'node-2', limit: 500 })).items;
        expect(onNode.map((s) => s.id)).toEqual(
          newestFirst(all.filter((s) => s.node === 'node-2')).map((s) => s.id),
        );
      });

      it('answers 50 by default and never more than 500', async () => {
        for (let n = 100; n < 160; n++) await store.insertSession(sessionRecord(n));
        expect((await store.listSessions({})).items).toHaveLength(50);
        expect((await store.listSessions({ limit: 10_000 })).items).toHaveLength(90);
        expect((await store.listSessions({ limit: 0 })).items).toHaveLength(1);
      });

      it('refuses a cursor it did not issue with its own error, not an HTTP one', async () => {
        const refusal = await store.listSessions({ continue: 'not-a-cursor' }).catch((e: unknown) => e);
        expect(refusal).toBeInstanceOf(StoreError);
        expect(refusal).toMatchObject({ code: 'STORE_BAD_CURSOR' });
        expect(refusal).not.toHaveProperty('status');
      });
    });

    it('lists finished sessions ended before a time, oldest first, for retention', async () => {
      await store.insertSession(sessionRecord(50, { startedAt: at(50), endedAt: at(51) }));
      await store.insertSession(sessionRecord(52, { startedAt: at(52), endedAt: at(70) }));
      await store.insertSession(
        sessionRecord(40, { startedAt: at(40), endedAt: undefined, state: 'refused' }),
      );
      await store.insertSession(
        sessionRecord(41, { startedAt: at(41), endedAt: undefined, exitCode: undefined, state: 'running' }),
      );
      const old = await store.listSessionsEndedBefore(at(60));
      expect(old.map((s) => s.id)).toEqual([sessionId(40), sessionId(50)]);
    });

    it('deletes a session', async () => {
      await store.insertSession(sessionRecord(60));
      await store.deleteSession(sessionId(60));
      expect(await store.getSession(sessionId(60))).toBeUndefined();
      await store.deleteSession(sessionId(60));
    });

    it('marks sessions a dead recorder left open as interrupted', async () => {
      const open = { endedAt: undefined, exitCode: undefined };
      await store.insertSession(sessionRecord(70, { ...open, state: 'pending', startedAt: at(70) }));
      await store.insertSession(sessionRecord(71, { ...open, state: 'pending', startedAt: at(90) }));
      await store.insertSession(sessionRecord(72, { ...open, state: 'running', startedAt: at(72) }));
      await store.insertSession(sessionRecord(73, { state: 'ended' }));
      const options = { pendingBefore: at(80), error: 'the recorder stopped', endedAt: at(100) };
      const pendingOnly = await store.interruptStale({ ...options, running: false });
      expect(pendingOnly.map((m) => [m.session.id, m.was])).toEqual([[sessionId(70), 'pending']]);
      const running = await store.interruptStale({ ...options, running: true });
      // The record as stored now, so the caller can announce its end.
      expect(running).toEqual([{ session: await store.getSession(sessionId(72)), was: 'running' }]);
      expect(running[0]!.session).toMatchObject({ state: 'interrupted', error: 'the recorder stopped' });
      const states = await Promise.all(
        [70, 71, 72, 73].map(async (n) => (await store.getSession(sessionId(n)))!),
      );
      expect(states.map((s) => s.state)).toEqual(['interrupted', 'pending', 'interrupted', 'ended']);
      expect(states[0]).toMatchObject({ error: 'the recorder stopped', endedAt: at(100) });
    });

    it('marks only the sessions of the replicas named, and those that name none', async () => {
      const open = { endedAt: undefined, exitCode: undefined, state: 'running' as const };
      await store.insertSession(sessionRecord(80, { ...open, replica: 'r-dead' }));
      await store.insertSession(sessionRecord(81, { ...open, replica: 'r-alive' }));
      await store.insertSession(sessionRecord(82, open));
      await store.insertSession(sessionRecord(83, { ...open, replica: 'r-gone' }));
      const options = { pendingBefore: at(0), running: true, error: 'its replica died', endedAt: at(100) };
      const marked = await store.interruptStale({ ...options, replicas: ['r-dead', 'r-gone'] });
      expect(marked.map((m) => m.session.id).sort()).toEqual([80, 82, 83].map(sessionId));
      const states = await Promise.all(
        [80, 81, 82, 83].map(async (n) => (await store.getSession(sessionId(n)))!.state),
      );
      expect(states).toEqual(['interrupted', 'running', 'interrupted', 'interrupted']);
      expect(await store.interruptStale({ ...options, replicas: [] })).toEqual([]);
    });

    it('hands each session to one of several replicas marking at once', async () => {
      const open = { endedAt: undefined, exitCode: undefined, state: 'running' as const, replica: 'r-dead' };
      for (let n = 90; n < 100; n++) await store.insertSession(sessionRecord(n, open));
      const options = { pendingBefore: at(0), running: true, error: 'its replica died', endedAt: at(100) };
      // As replicas would: each its own store on the same database.
      const stores = [store, await opened.sibling(), await opened.sibling()];
      const all = await Promise.all(
        [...stores, ...stores].map((s) => s.interruptStale({ ...options, replicas: ['r-dead'] })),
      );
      const ids = all.flat().map((m) => m.session.id);
      expect(ids.sort()).toEqual(Array.from({ length: 10 }, (_, i) => sessionId(90 + i)));
    });

    it('is ready while open', async () => {
      expect(await store.readiness()).toBeUndefined();
    });
  });
}
