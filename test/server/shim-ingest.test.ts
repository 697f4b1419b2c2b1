// Shim ingestion against the real recorder and the sandbox apiserver (TokenReview with audience and
// node-name extra, SubjectAccessReview, a real runc session): the shim's own shipper delivers,
// resends are stored once, another node's events are refused, hints reach the node's shim.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { readTarGz } from '../../common/evidence/tar.ts';
import type { ServerToShim } from '../../common/shim-protocol.ts';
import type { SessionCreateResponse, SessionEventList, SessionRecord, ShimEvent } from '../../common/wire.ts';
import type { ShimAttachment } from '../../server/shim/attach.ts';
import { Shipper } from '../../shim/shipper.ts';
import { type Sandbox, startSandbox } from '../sandbox/index.ts';
import { WEB_LIVENESS, WEB_POST_START } from '../sandbox/seed.ts';
import { skipE2E } from '../support/prereq.ts';
import { type RecorderHandle, startRecorder } from '../support/recorder.ts';
import { type Credentials, call, createExecSession, runStream } from './client.ts';

describe.skipIf(skipE2E('shim ingestion', 'root', 'runc'))('shim ingestion (/api/v1/shim)', () => {
  let sb: Sandbox;
  let rec: RecorderHandle;
  let shim: ShimAttachment;
  let dir: string;
  let shimToken: string;
  const stored: string[][] = [];
  const alice: Credentials = {};

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shim-ingest-'));
    sb = await startSandbox({ log: () => {} });
    rec = await startRecorder({ sandbox: sb });
    shim = rec.recorder.modules.shim;
    // Late events for an ended session must reach the evidence module, which re-signs.
    const evidence = rec.recorder.modules.evidence;
    const seal = evidence.seal.bind(evidence);
    evidence.seal = (id) => {
      stored.push([id]);
      return seal(id);
    };
    alice.token = sb.tokens.alice!;
    shimToken = sb.shimToken();
  }, 60_000);
  afterAll(async () => {
    shim?.ingest.close();
    await rec?.stop();
    await sb?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const wsUrl = () => `${rec.url.replace(/^https/, 'wss')}/api/v1/shim`;

  /** A bare shim connection: resolves once open, or rejects with the HTTP status of the refusal. */
  function connect(token: string): Promise<{ ws: WebSocket; next: () => Promise<ServerToShim> }> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(wsUrl(), { ca: rec.caPem, headers: { Authorization: `Bearer ${token}` } });
      const inbox: ServerToShim[] = [];
      const waiters: ((m: ServerToShim) => void)[] = [];
      ws.on('message', (d) => {
        const m = JSON.parse(String(d)) as ServerToShim;
        const w = waiters.shift();
        if (w) w(m);
        else inbox.push(m);
      });
      const next = () =>
        new Promise<ServerToShim>((r) => {
          const m = inbox.shift();
          if (m) r(m);
          else waiters.push(r);
        });
      ws.on('open', () => resolve({ ws, next }));
      ws.on('unexpected-response', (_req, res) =>
        reject(Object.assign(new Error('refused'), { status: res.statusCode })),
      );
      ws.on('error', reject);
    });
  }

  function event(seq: number, session: string | null, over: Partial<ShimEvent> = {}): ShimEvent {
    const serial = 900_000 + seq;
    return {
      seq,
      node: sb.nodeName,
      bootId: 'boot-test',
      auditSerial: serial,
      auditTime: `1795472865.${String(seq % 1000).padStart(3, '0')}`,
      containerId: sb.podContainerId('default', 'web'),
      kind: 'exec',
      exec: {
        session,
        attribution: session ? 'ancestry' : null,
        argv: ['touch', `/tmp/file_${seq}`],
        pid: 1000 + seq,
        ppid: 999,
        time: new Date(1795472865000 + seq).toISOString(),
        auditId: `1795472865.000:${serial}`,
        tty: null,
        cwd: '/',
        exe: '/usr/bin/touch',
        uid: 0,
      },
      raw: [`type=EXECVE msg=audit(1795472865.000:${serial}): argc=2 a0="touch"`],
      ...over,
    };
  }

  async function finishedSession(): Promise<string> {
    const created = await createExecSession<SessionCreateResponse>(rec, alice);
    expect(created.status).toBe(201);
    const r = await runStream(rec, alice, created.body.streamPath);
    expect(r.exitCode).toBe(0);
    return created.body.id;
  }

  it('authenticates shims by TokenReview with the audited-exec audience and the shim account', async () => {
    const bare = await connect(sb.tokens.shim!).catch((e: { status?: number }) => e);
    expect((bare as { status?: number }).status).toBe(401); // no audited-exec audience
    const alicesToken = await connect(sb.tokens.alice!).catch((e: { status?: number }) => e);
    expect((alicesToken as { status?: number }).status).toBe(403); // valid, but not the shim
    const otherSa = sb.serviceAccountToken({
      namespace: 'default',
      name: 'default',
      nodeName: sb.nodeName,
      audience: 'audited-exec',
    });
    expect(((await connect(otherSa).catch((e) => e)) as { status?: number }).status).toBe(403);
    const ok = await connect(shimToken);
    expect(shim.ingest.nodes()).toContain(sb.nodeName);
    ok.ws.close();
    // The token file the sandbox writes for a shim started by hand (README) is one that works.
    const fromFile = await connect(readFileSync(sb.shimTokenFile, 'utf8').trim());
    fromFile.ws.close();
  });

  it('stores events per session once, acks the highest seq, counts commands, serves /events', async () => {
    const id = await finishedSession();
    // Wait for the seal at session end to be done, then count only what the late events cause.
    await expect.poll(() => stored.flat()).toContain(id);
    await rec.recorder.modules.seals.drain();
    stored.length = 0;
    const { ws, next } = await connect(shimToken);
    const batch = [event(1, id), event(2, id), event(3, null)];
    ws.send(JSON.stringify({ type: 'events', events: batch }));
    expect(await next()).toEqual({ type: 'ack', seq: 3 });
    // A resend after a reconnect (same audit identities): acked, stored once.
    ws.send(JSON.stringify({ type: 'events', events: [event(2, id), event(3, null)] }));
    expect(await next()).toEqual({ type: 'ack', seq: 3 });
    ws.close();
    expect(shim.ingest.stats).toMatchObject({ stored: 3, duplicates: 2 });

    const got = await call<SessionEventList>(rec, alice, 'GET', `/api/v1/sessions/${id}/events`);
    expect(got.status).toBe(200);
    expect(got.body.items.map((e) => e.auditSerial)).toEqual([900_001, 900_002]);
    expect(got.body.items[0]).toMatchObject({ kind: 'exec', exec: { argv: ['touch', '/tmp/file_1'] } });
    const session = await call<SessionRecord>(rec, alice, 'GET', `/api/v1/sessions/${id}`);
    expect(session.body).toMatchObject({ commandCount: 2, alertCount: 0 });
    // The session had ended: evidence is signed again, though not at once: a late link waits a
    // minute after the last signature (seal-queue.ts). Shutdown (drain) signs what waits.
    await expect.poll(() => rec.recorder.modules.seals.waiting).toBe(1);
    expect(stored.flat()).not.toContain(id);
    await rec.recorder.modules.seals.drain();
    expect(stored.flat()).toContain(id);
    expect(rec.recorder.modules.seals.waiting).toBe(0);
    // Someone who may not read the session may not read its events either.
    const bob = await call(rec, { token: sb.tokens.bob! }, 'GET', `/api/v1/sessions/${id}/events`);
    expect(bob.status).toBe(403);
    expect((await shim.events.matchCommands([id], ['FILE_2'])).has(id)).toBe(true);
    expect((await shim.events.matchCommands([id], ['file_2', 'nothing-like-this'])).size).toBe(0);
  });

  it('refuses events naming another node, stores none of them, and keeps serving', async () => {
    const id = await finishedSession();
    const { ws, next } = await connect(shimToken);
    const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
    ws.send(
      JSON.stringify({ type: 'events', events: [event(10, id), event(11, id, { node: 'other-node' })] }),
    );
    const msg = await next();
    expect(msg).toMatchObject({
      type: 'error',
      status: { code: 403, reason: 'Forbidden', details: { causes: [{ reason: 'SHIM_FOREIGN_NODE' }] } },
    });
    expect(await closed).toBe(1008);
    expect(shim.ingest.stats.refusedForeignNode).toBe(1);
    const got = await call<SessionEventList>(rec, alice, 'GET', `/api/v1/sessions/${id}/events`);
    expect(got.body.items).toEqual([]);
    expect((await call(rec, {}, 'GET', '/healthz')).status).toBe(200);
    // A well-behaved shim still gets through afterwards.
    const again = await connect(shimToken);
    again.ws.send(JSON.stringify({ type: 'events', events: [event(12, id)] }));
    expect(await again.next()).toEqual({ type: 'ack', seq: 12 });
    again.ws.close();
  });

  it("stores another node's or container's claim on a session as an alert, never as its command", async () => {
    const id = await finishedSession();
    await rec.recorder.modules.seals.drain();
    const web = sb.podContainerId('default', 'web');
    // Two nodes' shims on one recorder: the session ran on sb.nodeName.
    const nodeB = await connect(sb.shimToken('node-b'));
    const nodeA = await connect(shimToken);
    expect(shim.ingest.nodes()).toEqual(expect.arrayContaining([sb.nodeName, 'node-b']));
    const before = shim.ingest.stats.sessionMismatches;
    const forged = (seq: number, argv: string[]) => {
      const e = event(seq, id, { node: 'node-b', containerId: 'b'.repeat(64) });
      return { ...e, exec: { ...e.exec!, argv } };
    };
    nodeB.ws.send(JSON.stringify({ type: 'events', events: [forged(40, ['rm', '-rf', '/data'])] }));
    expect(await nodeB.next()).toEqual({ type: 'ack', seq: 40 });
    // Same node, another container (a workload next to the session's pod); then the session's own.
    const otherContainer = event(41, id, { containerId: 'f'.repeat(64) });
    nodeA.ws.send(JSON.stringify({ type: 'events', events: [otherContainer, event(42, id)] }));
    expect(await nodeA.next()).toEqual({ type: 'ack', seq: 42 });
    nodeA.ws.close();
    nodeB.ws.close();
    expect(shim.ingest.stats.sessionMismatches - before).toBe(2);

    const got = await call<SessionEventList>(rec, alice, 'GET', `/api/v1/sessions/${id}/events`);
    expect(
      got.body.items.filter((e) => e.kind === 'exec').map((e) => [e.node, e.containerId, e.exec?.argv]),
    ).toEqual([[sb.nodeName, web, ['touch', '/tmp/file_42']]]);
    const alerts = got.body.items.filter((e) => e.kind === 'alert').map((e) => e.alert);
    expect(alerts).toEqual([
      expect.objectContaining({
        alert: 'session-mismatch',
        session: null,
        declared: id,
        argv: ['rm', '-rf', '/data'],
        mismatch: { reason: 'node', was: 'exec', sessionNode: sb.nodeName, sessionContainerId: web },
      }),
      expect.objectContaining({
        alert: 'session-mismatch',
        declared: id,
        containerId: 'f'.repeat(64),
        mismatch: expect.objectContaining({ reason: 'container', was: 'exec' }),
      }),
    ]);
    const record = (await call<SessionRecord>(rec, alice, 'GET', `/api/v1/sessions/${id}`)).body;
    expect(record).toMatchObject({ commandCount: 1, alertCount: 2 });
    // The late signature of the ended session carries the claims as alerts, not as its commands.
    await rec.recorder.modules.seals.drain();
    const bundle = await rec.recorder.modules.evidence.bundle(id);
    const files = readTarGz(new Uint8Array(await bundle.arrayBuffer()));
    const lines = new TextDecoder()
      .decode(files.get('events.jsonl'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as ShimEvent);
    expect(
      lines.filter((l) => l.kind === 'exec').every((l) => l.node === sb.nodeName && l.containerId === web),
    ).toBe(true);
    expect(lines.filter((l) => l.alert?.alert === 'session-mismatch')).toHaveLength(2);
    // And the unrecorded-activity page lists them, with the node the shim spoke for.
    const page = await shim.events.unrecordedAlerts({ kind: 'session-mismatch', node: 'node-b', limit: 10 });
    expect(page.items).toEqual([
      expect.objectContaining({ declared: id, node: 'node-b', argv: ['rm', '-rf', '/data'] }),
    ]);
  });

  it('stores a marker-forged alert with the session it claims and on the unrecorded-activity page', async () => {
    const id = await finishedSession();
    await rec.recorder.modules.seals.drain();
    const { ws, next } = await connect(shimToken);
    const workload = 'a'.repeat(64);
    const argv = ['env', `AUDITED_EXEC_SESSION=${id}`, 'sh', '-c', 'rm -rf /data'];
    const alert = event(50, null, {
      kind: 'alert',
      exec: undefined,
      containerId: workload,
      alert: {
        alert: 'marker-forged',
        session: null,
        declared: id,
        pid: 500,
        ppid: 1,
        argv,
        time: new Date(1795472865050).toISOString(),
        auditId: '1795472865.050:900050',
        tty: null,
        containerId: workload,
      },
    });
    ws.send(JSON.stringify({ type: 'events', events: [alert] }));
    expect(await next()).toEqual({ type: 'ack', seq: 50 });
    ws.close();
    const got = await call<SessionEventList>(rec, alice, 'GET', `/api/v1/sessions/${id}/events`);
    expect(got.body.items).toEqual([
      expect.objectContaining({
        kind: 'alert',
        alert: expect.objectContaining({ alert: 'marker-forged', declared: id, argv }),
      }),
    ]);
    expect((await call<SessionRecord>(rec, alice, 'GET', `/api/v1/sessions/${id}`)).body).toMatchObject({
      commandCount: 0,
      alertCount: 1,
    });
    const page = await shim.events.unrecordedAlerts({ kind: 'marker-forged', limit: 10 });
    expect(page.items).toEqual([expect.objectContaining({ declared: id, pid: 500, node: sb.nodeName })]);
    await rec.recorder.modules.seals.drain();
    const bundle = await rec.recorder.modules.evidence.bundle(id);
    const files = readTarGz(new Uint8Array(await bundle.arrayBuffer()));
    expect(new TextDecoder().decode(files.get('events.jsonl'))).toContain('"alert":"marker-forged"');
  });

  it('lists unrecorded-tty alerts by node, and forwards expect-exec hints to the node shim', async () => {
    const { ws, next } = await connect(shimToken);
    const alert = event(20, null, {
      kind: 'alert',
      exec: undefined,
      alert: {
        alert: 'unrecorded-tty',
        session: null,
        pid: 4242,
        ppid: 1,
        argv: ['bash'],
        time: '2026-11-23T10:00:00.000Z',
        auditId: '1795472865.020:900020',
        tty: 'pts0',
        containerId: 'c'.repeat(64),
      },
    });
    ws.send(JSON.stringify({ type: 'events', events: [alert] }));
    expect(await next()).toEqual({ type: 'ack', seq: 20 });
    const page = await shim.events.unrecordedAlerts({ kind: 'unrecorded-tty', node: sb.nodeName, limit: 10 });
    expect(page.items).toEqual([
      expect.objectContaining({ alert: 'unrecorded-tty', pid: 4242, node: sb.nodeName }),
    ]);
    expect((await shim.events.unrecordedAlerts({ node: 'elsewhere', limit: 10 })).items).toEqual([]);

    rec.recorder.services.events.emit('inferredExec', {
      session: '11111111-2222-4333-8444-555555555555',
      containerId: 'd'.repeat(64),
      node: sb.nodeName,
      time: '2026-11-23T10:00:01.000Z',
    });
    expect(await next()).toEqual({
      type: 'expect-exec',
      session: '11111111-2222-4333-8444-555555555555',
      containerId: 'd'.repeat(64),
      time: '2026-11-23T10:00:01.000Z',
    });
    ws.close();
  });

  it("stores a runtime exec outside any session, but not the pod's own probe or hook", async () => {
    const { ws, next } = await connect(shimToken);
    const web = sb.podContainerId('default', 'web');
    const unrecorded = (seq: number, argv: string[]): ShimEvent =>
      event(seq, null, {
        kind: 'alert',
        exec: undefined,
        containerId: web,
        alert: {
          alert: 'unrecorded-exec',
          session: null,
          pid: 5000 + seq,
          ppid: 4999,
          argv,
          time: new Date(1795472866000 + seq).toISOString(),
          auditId: `1795472866.000:${900_000 + seq}`,
          tty: null,
          containerId: web,
        },
      });
    const before = shim.ingest.stats.declaredExecs;
    ws.send(
      JSON.stringify({
        type: 'events',
        events: [
          unrecorded(30, WEB_LIVENESS),
          unrecorded(31, ['sh', '-c', 'id']),
          unrecorded(32, WEB_POST_START),
          // the probe's argv with one more word is not the probe
          unrecorded(33, [...WEB_LIVENESS, '/etc/passwd']),
        ],
      }),
    );
    expect(await next()).toEqual({ type: 'ack', seq: 33 });
    expect(shim.ingest.stats.declaredExecs - before).toBe(2);
    const page = await shim.events.unrecordedAlerts({ kind: 'unrecorded-exec', limit: 10 });
    expect(page.items.map((a) => [a.argv.join(' '), a.namespace, a.pod])).toEqual([
      ['cat /etc/hostname /etc/passwd', 'default', 'web'],
      ['sh -c id', 'default', 'web'],
    ]);
    const tty = await shim.events.unrecordedAlerts({ kind: 'unrecorded-tty', limit: 10 });
    expect(tty.items.every((a) => a.alert === 'unrecorded-tty')).toBe(true);
    ws.close();
  });

  it("delivers through the shim's own disk-spooled shipper", async () => {
    const id = await finishedSession();
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, shimToken);
    const caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, rec.caPem);
    const shipper = new Shipper({
      url: wsUrl(),
      tokenFile,
      spoolDir: join(dir, 'spool'),
      ca: Buffer.from(rec.caPem),
    });
    shipper.start();
    try {
      const events = Array.from({ length: 30 }, (_, i) => {
        const { seq: _s, ...e } = event(100 + i, id);
        return e;
      });
      shipper.enqueue(events);
      await shipper.drained();
      expect(shipper.pending).toBe(0);
    } finally {
      shipper.stop();
    }
    const got = await call<SessionEventList>(rec, alice, 'GET', `/api/v1/sessions/${id}/events`);
    expect(got.body.items).toHaveLength(30);
    expect((await call<SessionRecord>(rec, alice, 'GET', `/api/v1/sessions/${id}`)).body.commandCount).toBe(
      30,
    );
  });
});
