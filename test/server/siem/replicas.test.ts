// Two recorder replicas on one real PostgreSQL, one webhook receiver: each event leaves once, from
// the replica that owns it — a session's start and end from the replica that records it, a shim's
// batch from the replica that ingested it — and a shim's resend of a batch to the other replica
// (a lost ack) comes out there under the same ids, so the receiver keeps one of each.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SiemEvent, siemEventId } from '../../../common/siem-event.ts';
import type { SessionCreateResponse, ShimEvent } from '../../../common/wire.ts';
import { parseSinkSpecs } from '../../../server/siem/sink-spec.ts';
import { type Sandbox, startSandbox } from '../../sandbox/index.ts';
import { type PostgresServer, startPostgres } from '../../support/postgres.ts';
import { skipE2E } from '../../support/prereq.ts';
import { type RecorderHandle, startRecorder } from '../../support/recorder.ts';
import { shipAsShim } from '../../support/shim-ship.ts';
import { type HttpReceiver, startHttpReceiver } from '../../support/siem-receivers.ts';
import { type Credentials, createExecSession, runStream } from '../client.ts';

async function until(ready: () => boolean, state: () => string, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`not within ${ms / 1000} s: ${state()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(skipE2E('SIEM export across replicas', 'postgres'))('SIEM export across replicas', () => {
  let sb: Sandbox;
  let pg: PostgresServer;
  let dir: string;
  let webhook: HttpReceiver;
  const replicas: Record<'a' | 'b', RecorderHandle> = {} as never;
  const alice: Credentials = {};
  let shimToken = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'siem-replicas-'));
    sb = await startSandbox({ runtime: 'pty', log: () => {} });
    pg = await startPostgres();
    const database = await pg.createDatabase();
    alice.token = sb.tokens.alice!;
    shimToken = sb.shimToken();
    webhook = await startHttpReceiver({ shape: 'webhook', secret: 's3cret' });
    const siemSinks = parseSinkSpecs([`type=webhook,url=${webhook.url},secret-env=S`], {
      env: { S: 's3cret' },
      cwd: dir,
    });
    for (const id of ['a', 'b'] as const) {
      replicas[id] = await startRecorder({
        sandbox: sb,
        dataDir: join(dir, id),
        settings: { database, replicaId: `replica-${id}`, siemSinks },
      });
    }
  }, 120_000);
  afterAll(async () => {
    for (const r of Object.values(replicas)) await r?.stop();
    await webhook?.stop();
    await pg?.stop();
    await sb?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function exec(seq: number, session: string): ShimEvent {
    const auditId = `1795472865.${String(seq).padStart(3, '0')}:${700_000 + seq}`;
    return {
      seq,
      node: sb.nodeName,
      bootId: 'boot-replicas',
      auditSerial: 700_000 + seq,
      auditTime: `1795472865.${String(seq).padStart(3, '0')}`,
      containerId: sb.podContainerId('default', 'web'),
      kind: 'exec',
      exec: {
        session,
        attribution: 'ancestry',
        argv: ['id'],
        pid: 3000 + seq,
        ppid: 2999,
        time: new Date(1795472865000 + seq).toISOString(),
        auditId,
        tty: null,
        cwd: '/',
        exe: '/usr/bin/id',
        uid: 0,
      },
      raw: [],
    };
  }

  it('exports each session and shim event from the replica that owns it, once', async () => {
    const owner = new Map<string, string>();
    let seq = 0;
    for (const id of ['a', 'b', 'a', 'b'] as const) {
      const rec = replicas[id];
      const created = await createExecSession<SessionCreateResponse>(rec, alice);
      expect(created.status).toBe(201);
      expect((await runStream(rec, alice, created.body.streamPath)).exitCode).toBe(0);
      owner.set(created.body.id, `replica-${id}`);
      // The session's commands reach the *other* replica's ingest (the shim's connection is its own).
      await shipAsShim(replicas[id === 'a' ? 'b' : 'a'], shimToken, [
        exec(++seq, created.body.id),
        exec(++seq, created.body.id),
      ]);
    }
    const total = owner.size * 4;
    await until(
      () => new Set(webhook.events.map((e) => e.id)).size === total,
      () => `${webhook.events.length} events`,
    );
    // Nothing twice: no replica exported what another owns.
    expect(webhook.events).toHaveLength(total);
    for (const e of webhook.events) {
      const recorder = owner.get(e.audited_exec.session_id!);
      if (e.type.startsWith('session.')) expect(e.observer.name, e.type).toBe(recorder);
      else expect(e.observer.name, e.type).not.toBe(recorder);
    }

    // A lost ack: the shim sends its last batch again, to the replica it reaches next.
    const last = [...owner.keys()].at(-1)!;
    const before = webhook.events.length;
    await shipAsShim(replicas.b, shimToken, [exec(seq - 1, last), exec(seq, last)]);
    await until(
      () => webhook.events.length === before + 2,
      () => `${webhook.events.length} events`,
    );
    const resent = webhook.events.slice(before);
    const firstTime = (e: SiemEvent) => webhook.events.findIndex((x) => x.id === e.id);
    expect(resent.every((e) => firstTime(e) < before)).toBe(true);
    expect(new Set(webhook.events.map((e) => e.id)).size).toBe(total);
  });

  it("a dead replica's running session: session.ended (interrupted) once, from the replica that took it over", async () => {
    const { store } = replicas.a.recorder;
    // A replica that claimed a session, then stopped heartbeating a minute ago.
    const created = await createExecSession<SessionCreateResponse>(replicas.a, alice);
    const id = created.body.id;
    await store.updateSession(id, { state: 'running', replica: 'replica-dead' });
    await store.replicas.heartbeat(
      'replica-dead',
      'https://127.0.0.1:1',
      new Date(Date.now() - 60_000).toISOString(),
    );
    const ends = () =>
      webhook.events.filter((e) => e.type === 'session.ended' && e.audited_exec.session_id === id);
    // A replica calls another dead only once it has heartbeated for a lease (20 s), then every 10 s.
    await until(
      () => ends().length > 0,
      () => `${webhook.events.length} events`,
      120_000,
    );
    const [ended] = ends();
    expect(ended!.id).toBe(siemEventId(['session.ended', id]));
    expect(['replica-a', 'replica-b']).toContain(ended!.observer.name);
    expect(ended!.audited_exec.session).toMatchObject({
      state: 'interrupted',
      error: 'the recorder replica recording this session stopped',
    });
    // Once: the takeover forgot the dead replica; a later session's end comes after any resend.
    const deadline = Date.now() + 60_000;
    while ((await store.replicas.list()).some((r) => r.id === 'replica-dead')) {
      if (Date.now() > deadline) throw new Error('replica-dead is still registered after its takeover');
      await new Promise((r) => setTimeout(r, 50));
    }
    for (const r of [replicas.a, replicas.b]) {
      const later = await createExecSession<SessionCreateResponse>(r, alice);
      expect((await runStream(r, alice, later.body.streamPath)).exitCode).toBe(0);
      await until(
        () =>
          webhook.events.some(
            (e) => e.type === 'session.ended' && e.audited_exec.session_id === later.body.id,
          ),
        () => `${webhook.events.length} events`,
      );
    }
    expect(ends()).toHaveLength(1);
  }, 180_000);
});
