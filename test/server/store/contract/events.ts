// The shim events contract (EventStore in server/events/store.ts), for every engine.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AlertKind, ShimEvent } from '../../../../common/wire.ts';
import type { EventStore } from '../../../../server/events/store.ts';
import { StoreError } from '../../../../server/store/errors.ts';
import type { RecorderStore } from '../../../../server/store/store.ts';
import { at, type OpenedStore, type StoreFactory, sessionId, sessionRecord } from './factory.ts';

const S1 = sessionId(1);
const S2 = sessionId(2);

function exec(serial: number, session: string | null, argv: string[], minute = serial): ShimEvent {
  return {
    seq: serial,
    node: 'node-1',
    bootId: 'boot-a',
    auditSerial: serial,
    auditTime: (Date.parse(at(minute)) / 1000).toFixed(3),
    containerId: 'abc123',
    kind: 'exec',
    exec: {
      session,
      attribution: session ? 'marker' : null,
      argv,
      pid: 1000 + serial,
      ppid: 1,
      time: at(minute),
      auditId: `${serial}`,
      tty: null,
      cwd: '/',
      exe: argv[0] ?? null,
      uid: 0,
    },
    raw: [`type=EXECVE msg=audit(0:${serial})`],
  };
}

function alert(serial: number, kind: AlertKind, o: Partial<ShimEvent> = {}, minute = serial): ShimEvent {
  return {
    seq: serial,
    node: 'node-1',
    bootId: 'boot-a',
    auditSerial: serial,
    auditTime: (Date.parse(at(minute)) / 1000).toFixed(3),
    containerId: 'abc123',
    kind: 'alert',
    alert: {
      alert: kind,
      session: null,
      pid: 1000 + serial,
      ppid: 1,
      argv: ['/bin/sh'],
      time: at(minute),
      auditId: `${serial}`,
      tty: 'pts0',
    },
    raw: [],
    ...o,
  };
}

export function describeEventContract(engine: string, factory: StoreFactory): void {
  describe(`${engine}: shim events`, () => {
    let opened: OpenedStore;
    let store: RecorderStore;
    let events: EventStore;
    const received = { receivedAt: at(1000) };
    beforeEach(async () => {
      opened = await factory.open();
      store = opened.store;
      events = store.events;
      await store.insertSession(sessionRecord(1, { startedAt: at(0), endedAt: at(100) }));
      await store.insertSession(sessionRecord(2, { startedAt: at(0), endedAt: at(100), node: 'node-2' }));
    });
    afterEach(() => opened.dispose());

    it('stores a batch once, however often it is resent', async () => {
      const batch = [
        exec(3, S1, ['/bin/ls', '-l']),
        exec(2, S1, ['/bin/cat', 'x']),
        exec(4, S2, ['/bin/id']),
      ];
      expect(await events.insert(batch, received)).toEqual({
        inserted: 3,
        duplicates: 0,
        sessions: expect.arrayContaining([S1, S2]),
      });
      const again = await events.insert([...batch, exec(5, S1, ['/bin/true'])], received);
      expect(again).toEqual({ inserted: 1, duplicates: 3, sessions: [S1] });
    });

    it('stores an event a batch holds twice once, the first copy', async () => {
      const first = exec(2, S1, ['/bin/first']);
      const r = await events.insert([first, exec(3, S1, ['/bin/x']), exec(2, S1, ['/bin/second'])], received);
      expect(r).toEqual({ inserted: 2, duplicates: 1, sessions: [S1] });
      expect((await events.listEvents(S1))[0]).toEqual(first);
      expect(await events.insert([], received)).toEqual({ inserted: 0, duplicates: 0, sessions: [] });
    });

    it('lists a session in audit order with each event as sent', async () => {
      const e2 = exec(2, S1, ['/bin/cat', 'x']);
      await events.insert([exec(3, S1, ['/bin/ls']), e2, exec(4, S2, ['/bin/id'])], received);
      const listed = await events.listEvents(S1);
      expect(listed.map((e) => e.auditSerial)).toEqual([2, 3]);
      expect(listed[0]).toEqual(e2);
      expect(await events.listEvents(sessionId(77))).toEqual([]);
    });

    it('counts commands and alerts', async () => {
      await events.insert(
        [exec(2, S1, ['/bin/a']), exec(3, S1, ['/bin/b']), alert(4, 'marker-conflict', {}, 4)],
        received,
      );
      await events.insert(
        [{ ...alert(5, 'marker-conflict'), alert: { ...alert(5, 'marker-conflict').alert!, session: S1 } }],
        received,
      );
      expect(await events.counts(S1)).toEqual({ commandCount: 2, alertCount: 1 });
      expect(await events.counts(sessionId(77))).toEqual({ commandCount: 0, alertCount: 0 });
    });

    it('lists a node-wide events-missing alert with the sessions on that node it overlaps', async () => {
      const missing = alert(6, 'events-missing', {}, 6);
      missing.alert = {
        ...missing.alert!,
        missing: { fromSerial: 6, toSerial: 9, from: at(6), to: at(9), reason: 'rotated away' },
      };
      await events.insert([missing], { ...received, alsoFor: () => [S1] });
      expect((await events.listEvents(S1)).map((e) => e.alert?.alert)).toEqual(['events-missing']);
      expect(await events.listEvents(S2)).toEqual([]);
      expect(await events.counts(S1)).toEqual({ commandCount: 0, alertCount: 1 });
    });

    it('finds sessions whose commands contain every term, ignoring case', async () => {
      await events.insert(
        [exec(2, S1, ['/usr/bin/Kubectl', 'get', 'Secrets']), exec(3, S2, ['/bin/cat', '/etc/secrets'])],
        received,
      );
      expect(await events.matchCommands([S1, S2], ['secrets'])).toEqual(new Set([S1, S2]));
      expect(await events.matchCommands([S1, S2], ['KUBECTL', 'secrets'])).toEqual(new Set([S1]));
      expect(await events.matchCommands([S2], ['kubectl'])).toEqual(new Set());
      expect(await events.matchCommands([S1], ['100%_'])).toEqual(new Set());
    });

    it('pages unrecorded activity newest first, by kind, node, pod and time', async () => {
      const batch = [
        alert(10, 'unrecorded-tty', {}, 10),
        alert(11, 'unrecorded-exec', {}, 11),
        alert(12, 'unrecorded-tty', { node: 'node-2' }, 12),
        alert(13, 'marker-conflict', {}, 13),
        exec(14, null, ['/bin/ls'], 14),
      ];
      await events.insert(batch, {
        ...received,
        podOf: (e) => (e.node === 'node-1' ? { namespace: 'prod', pod: 'web-0' } : null),
      });
      const first = await events.unrecordedAlerts({ limit: 2 });
      expect(first.items.map((a) => a.auditId)).toEqual(['12', '11']);
      expect(first.items[1]).toMatchObject({
        alert: 'unrecorded-exec',
        node: 'node-1',
        namespace: 'prod',
        pod: 'web-0',
      });
      expect(first.items[0]).not.toHaveProperty('pod');
      const second = await events.unrecordedAlerts({ limit: 2, continue: first.continue! });
      expect(second.items.map((a) => a.auditId)).toEqual(['10']);
      expect(second.continue).toBeUndefined();
      const tty = await events.unrecordedAlerts({ limit: 10, kind: 'unrecorded-tty', node: 'node-1' });
      expect(tty.items.map((a) => a.auditId)).toEqual(['10']);
      const window = await events.unrecordedAlerts({ limit: 10, pod: 'web-0', since: at(11), until: at(12) });
      expect(window.items.map((a) => a.auditId)).toEqual(['11']);
    });

    it('refuses an alerts cursor it did not issue with its own error', async () => {
      const refusal = await events.unrecordedAlerts({ limit: 5, continue: 'bogus' }).catch((e: unknown) => e);
      expect(refusal).toBeInstanceOf(StoreError);
      expect(refusal).toMatchObject({ code: 'EVENTS_BAD_CURSOR' });
    });

    it('forgets a deleted session’s events, and only its own', async () => {
      await events.insert([exec(2, S1, ['/bin/a']), exec(3, S2, ['/bin/b'])], received);
      await events.deleteSession(S1);
      expect(await events.listEvents(S1)).toEqual([]);
      expect(await events.matchCommands([S1], ['/bin/a'])).toEqual(new Set());
      expect((await events.listEvents(S2)).map((e) => e.auditSerial)).toEqual([3]);
    });
  });
}
