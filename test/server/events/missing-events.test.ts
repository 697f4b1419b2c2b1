// An events-missing alert is node-wide (the shim cannot know whose commands it lost): stored once,
// it is listed and counted with every session on its node whose time its range overlaps.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SessionRecord, ShimEvent } from '../../../common/wire.ts';
import { SqliteStore } from '../../../server/store/sqlite.ts';

const A = '11111111-1111-4111-8111-111111111111';
const B = '22222222-2222-4222-8222-222222222222';
const LATER = '33333333-3333-4333-8333-333333333333';
const ELSEWHERE = '44444444-4444-4444-8444-444444444444';

function session(id: string, o: Partial<SessionRecord>): SessionRecord {
  return {
    id,
    kind: 'exec',
    state: 'ended',
    user: 'alice',
    groups: [],
    node: 'n1',
    command: ['sh'],
    tty: false,
    stdin: false,
    attribution: 'marker',
    auditId: id,
    startedAt: new Date(1796290000000).toISOString(),
    recordInput: false,
    ...o,
  };
}

function exec(seq: number, session: string): ShimEvent {
  return {
    seq,
    node: 'n1',
    bootId: 'b',
    auditSerial: seq,
    auditTime: `1796290000.${String(seq).padStart(3, '0')}`,
    containerId: null,
    kind: 'exec',
    exec: {
      session,
      attribution: 'marker',
      argv: ['/bin/true', `x${seq}`],
      pid: seq,
      ppid: 1,
      time: new Date(1796290000000 + seq).toISOString(),
      auditId: `1796290000.${seq}:${seq}`,
      tty: null,
      cwd: null,
      exe: null,
      uid: 0,
    },
    raw: [],
  };
}

const gap: ShimEvent = {
  seq: 10,
  node: 'n1',
  bootId: 'b',
  auditSerial: 5,
  auditTime: '1796290000.004',
  containerId: null,
  kind: 'alert',
  alert: {
    alert: 'events-missing',
    session: null,
    pid: 0,
    ppid: 0,
    argv: [],
    time: new Date(1796290000004).toISOString(),
    auditId: '1796290000.004:5',
    tty: null,
    containerId: null,
    missing: {
      fromSerial: 5,
      toSerial: 8,
      from: new Date(1796290000004).toISOString(),
      to: new Date(1796290000009).toISOString(),
      reason: 'auditd deleted a rotated log before the shim read it',
    },
  },
  raw: [],
};

describe('events-missing alerts', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('are stored once, and listed and counted with every session on the node they overlap', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ae-missing-'));
    dirs.push(dir);
    const sqlite = new SqliteStore({ dataDir: dir });
    await sqlite.insertSession(session(A, { state: 'running' }));
    await sqlite.insertSession(session(B, { endedAt: new Date(1796290000006).toISOString() }));
    await sqlite.insertSession(session(LATER, { startedAt: new Date(1796290000010).toISOString() }));
    await sqlite.insertSession(session(ELSEWHERE, { node: 'n2', state: 'running' }));
    const events = sqlite.events;
    const first = await events.insert([exec(1, A), exec(2, B), gap, exec(9, A)], {
      receivedAt: new Date().toISOString(),
      alsoFor: (e) => (e === gap ? [A, B] : []),
    });
    expect(first.sessions.sort()).toEqual([A, B]);
    // A resend stores nothing twice and concerns no session again.
    const again = await events.insert([gap], { receivedAt: new Date().toISOString(), alsoFor: () => [A, B] });
    expect(again).toMatchObject({ inserted: 0, duplicates: 1, sessions: [] });
    const ofA = await events.listEvents(A);
    expect(ofA.map((e) => e.kind)).toEqual(['exec', 'alert', 'exec']);
    expect(ofA[1]!.alert?.missing).toMatchObject({ fromSerial: 5, toSerial: 8 });
    expect((await events.listEvents(B)).map((e) => e.auditSerial)).toEqual([2, 5]);
    expect(await events.listEvents(LATER)).toEqual([]);
    expect(await events.listEvents(ELSEWHERE)).toEqual([]);
    expect(await events.counts(A)).toEqual({ commandCount: 2, alertCount: 1 });
    await events.deleteSession(A);
    expect((await events.listEvents(B)).map((e) => e.auditSerial)).toEqual([2, 5]);
    await sqlite.close();
  });
});
