// An events-missing alert is node-wide (the shim cannot know whose commands it lost): stored once,
// it is listed and counted with every session it is linked to, and evidence reads it as a sentence.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ShimEvent } from '../../../common/wire.ts';
import { EventStore } from '../../../server/events/store.ts';
import { SqliteStore } from '../../../server/store/sqlite.ts';

const A = '11111111-1111-4111-8111-111111111111';
const B = '22222222-2222-4222-8222-222222222222';

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

  it('are stored once and listed and counted with every session linked to them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ae-missing-'));
    dirs.push(dir);
    const sqlite = new SqliteStore({ dataDir: dir });
    const events = new EventStore({ store: sqlite });
    const first = events.insert([exec(1, A), exec(2, B), gap, exec(9, A)], {
      receivedAt: new Date().toISOString(),
      alsoFor: (e) => (e === gap ? [A, B] : []),
    });
    expect(first.sessions.sort()).toEqual([A, B]);
    // A resend stores and links nothing twice.
    const again = events.insert([gap], { receivedAt: new Date().toISOString(), alsoFor: () => [A, B] });
    expect(again).toMatchObject({ inserted: 0, duplicates: 1 });
    const ofA = await events.listEvents(A);
    expect(ofA.map((e) => e.kind)).toEqual(['exec', 'alert', 'exec']);
    expect(ofA[1]!.alert?.missing).toMatchObject({ fromSerial: 5, toSerial: 8 });
    expect((await events.listEvents(B)).map((e) => e.auditSerial)).toEqual([2, 5]);
    expect(events.counts(A)).toEqual({ commandCount: 2, alertCount: 1 });
    await events.deleteSession(A);
    expect(await events.listEvents(A)).toEqual([]);
    expect((await events.listEvents(B)).map((e) => e.auditSerial)).toEqual([2, 5]);
    await sqlite.close();
  });
});
