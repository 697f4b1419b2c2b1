// A recorder killed (-9) in the middle of a session: it never stores that session's end, so no
// session.ended leaves it. Started again on its data dir, it marks the session interrupted at
// start-up and exports the session.ended the receiver was missing (the id a normal end would have
// had), once: a later start and a later session do not send it again.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SiemEvent, siemEventId } from '../../../common/siem-event.ts';
import type { SessionCreateResponse } from '../../../common/wire.ts';
import { type Sandbox, startSandbox } from '../../sandbox/index.ts';
import { type SpawnedRecorder, spawnRecorder } from '../../support/recorder.ts';
import { type HttpReceiver, startHttpReceiver } from '../../support/siem-receivers.ts';
import { type Credentials, createExecSession, runStream } from '../client.ts';

async function until(ready: () => boolean, state: () => string, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`not within ${ms / 1000} s: ${state()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('SIEM export of a session its recorder left open', () => {
  let sb: Sandbox;
  let dir: string;
  let webhook: HttpReceiver;
  let rec: SpawnedRecorder | undefined;
  const alice: Credentials = {};

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'siem-interrupted-'));
    sb = await startSandbox({ runtime: 'pty', log: () => {} });
    alice.token = sb.tokens.alice!;
    webhook = await startHttpReceiver({ shape: 'webhook', secret: 's3cret' });
    writeFileSync(join(dir, 'hmac'), 's3cret\n');
  }, 120_000);
  afterAll(async () => {
    await rec?.stop();
    await webhook?.stop();
    await sb?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const start = () =>
    spawnRecorder({
      sandbox: sb,
      dataDir: join(dir, 'recorder'),
      args: ['--siem-sink', `type=webhook,url=${webhook.url},secret-file=${join(dir, 'hmac')},retry-max=1`],
    });
  const of = (type: SiemEvent['type'], id: string) =>
    webhook.events.filter((e) => e.type === type && e.audited_exec.session_id === id);
  const shown = () => webhook.events.map((e) => `${e.type} ${e.audited_exec.session_id}`).join(', ');

  async function stop(r: SpawnedRecorder, signal: NodeJS.Signals): Promise<void> {
    r.kill(signal);
    await r.exited;
  }

  /** A session run to its end on `r`; resolves once its session.ended reached the receiver. */
  async function runOne(r: SpawnedRecorder): Promise<string> {
    const created = await createExecSession<SessionCreateResponse>(r, alice);
    expect(created.status).toBe(201);
    expect((await runStream(r, alice, created.body.streamPath)).exitCode).toBe(0);
    await until(() => of('session.ended', created.body.id).length > 0, shown);
    return created.body.id;
  }

  it('is exported as session.ended, state interrupted, once, by the restarted recorder', async () => {
    rec = await start();
    const created = await createExecSession<SessionCreateResponse>(rec, alice, { command: ['sleep', '600'] });
    expect(created.status).toBe(201);
    const id = created.body.id;
    const stream = runStream(rec, alice, created.body.streamPath).catch((err: Error) => err);
    await until(() => of('session.started', id).length > 0, shown);
    await stop(rec, 'SIGKILL');
    await stream;
    expect(of('session.ended', id)).toEqual([]);

    rec = await start();
    await until(() => of('session.ended', id).length > 0, shown);
    const [ended] = of('session.ended', id);
    expect(ended!.id).toBe(siemEventId(['session.ended', id]));
    expect(ended!.event.outcome).toBe('failure');
    expect(ended!.observer.name).toBe(of('session.started', id)[0]!.observer.name);
    expect(ended!.audited_exec.session).toMatchObject({
      state: 'interrupted',
      error: 'the recorder stopped while this session was open',
      command: ['sleep', '600'],
    });
    expect(Date.parse(ended!.audited_exec.session!.ended_at!)).toBeGreaterThan(
      Date.parse(ended!.audited_exec.session!.started_at),
    );

    // Once: the spool delivers in order, so a later session's end arriving means nothing else is
    // queued before it; a clean restart in between finds nothing left open.
    await runOne(rec);
    await stop(rec, 'SIGTERM');
    rec = await start();
    await runOne(rec);
    expect(of('session.ended', id)).toHaveLength(1);
  });
});
