// The SIEM export end to end: a recorder process (as `npm start` runs it) against the sandbox
// cluster exports 100 real sessions (create + stream through the recorder, a real runc exec) and
// their shim events (two attributed commands and an alert each, posted on the shim WebSocket as a
// node's shim ships them) to a real rsyslogd over TCP, another over RELP, and to a webhook receiver
// that checks the HMAC. Both receivers go down for 60 s while sessions go on; once they are back the recorder is
// killed (-9) in the middle of delivering the backlog and started again on its data dir. Every event
// arrives, and after de-duplication by id each one exactly once.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SiemEvent } from '../../../common/siem-event.ts';
import type { SessionCreateResponse, ShimEvent } from '../../../common/wire.ts';
import { type Sandbox, startSandbox } from '../../sandbox/index.ts';
import { skipE2E } from '../../support/prereq.ts';
import { type SpawnedRecorder, spawnRecorder } from '../../support/recorder.ts';
import { shipAsShim } from '../../support/shim-ship.ts';
import {
  type HttpReceiver,
  type Rsyslog,
  startHttpReceiver,
  startRsyslog,
} from '../../support/siem-receivers.ts';
import { type Credentials, createExecSession, runStream } from '../client.ts';

const SESSIONS = 100;
const OUTAGE_MS = 60_000;

/** What an exported event is about, independent of its id: one per real-world event. */
function naturalKey(e: SiemEvent): string {
  const x = e.audited_exec;
  if (e.type === 'command') return `command|${x.command?.audit_id}`;
  if (e.type === 'alert') return `alert|${x.alert?.audit_id}`;
  return `${e.type}|${x.session_id}`;
}

/** Resolves once `ready()` holds; fails after `ms` with what `state()` says. */
async function until(ready: () => boolean, ms: number, state: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`not within ${ms / 1000} s: ${state()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(skipE2E('SIEM export', 'root', 'runc', 'rsyslog'))('SIEM export (rsyslog + webhook)', () => {
  let sb: Sandbox;
  let dir: string;
  let rsyslog: Rsyslog;
  let relp: Rsyslog;
  let webhook: HttpReceiver;
  let rec: SpawnedRecorder | undefined;
  const alice: Credentials = {};
  let shimToken = '';
  let seq = 0;
  const expected = new Set<string>();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'siem-export-'));
    sb = await startSandbox({ log: () => {} });
    alice.token = sb.tokens.alice!;
    shimToken = sb.shimToken();
    rsyslog = await startRsyslog({ dir });
    mkdirSync(join(dir, 'relp'));
    relp = await startRsyslog({ dir: join(dir, 'relp'), relp: true });
    webhook = await startHttpReceiver({ shape: 'webhook', secret: 'hmac-secret-of-the-test' });
  }, 120_000);
  afterAll(async () => {
    await rec?.stop();
    await rsyslog?.stop();
    await relp?.stop();
    await webhook?.stop();
    await sb?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function startRecorder(): Promise<SpawnedRecorder> {
    const secretFile = join(dir, 'hmac');
    writeFileSync(secretFile, 'hmac-secret-of-the-test\n');
    return spawnRecorder({
      sandbox: sb,
      dataDir: join(dir, 'recorder'),
      args: [
        // Small batches, so a backlog takes many deliveries and a kill lands in the middle of it.
        '--siem-sink',
        `type=syslog,url=tcp://127.0.0.1:${rsyslog.port},batch=10,retry-max=5`,
        '--siem-sink',
        `type=webhook,url=${webhook.url},secret-file=${secretFile},batch=10,retry-max=5`,
        '--siem-sink',
        `type=syslog,name=relp,url=relp://127.0.0.1:${relp.port},batch=10,retry-max=5`,
      ],
    });
  }

  function shimEvent(session: string, kind: 'exec' | 'alert'): ShimEvent {
    seq++;
    const serial = 500_000 + seq;
    const auditTime = `${1795472865 + seq}.${String(seq % 1000).padStart(3, '0')}`;
    const auditId = `${auditTime}:${serial}`;
    const common = {
      pid: 2000 + seq,
      ppid: 1999,
      time: new Date((1795472865 + seq) * 1000).toISOString(),
      auditId,
      tty: null,
    };
    expected.add(`${kind === 'exec' ? 'command' : 'alert'}|${auditId}`);
    return {
      seq,
      node: sb.nodeName,
      bootId: 'boot-siem',
      auditSerial: serial,
      auditTime,
      containerId: sb.podContainerId('default', 'web'),
      kind,
      ...(kind === 'exec'
        ? {
            exec: {
              ...common,
              session,
              attribution: 'ancestry' as const,
              argv: ['cat', `/etc/config-${seq}`],
              cwd: '/',
              exe: '/bin/cat',
              uid: 0,
            },
          }
        : {
            alert: {
              ...common,
              alert: 'marker-conflict' as const,
              session,
              declared: '11111111-2222-4333-8444-555555555555',
              argv: ['env', 'AUDITED_EXEC_SESSION=11111111-2222-4333-8444-555555555555', 'sh'],
            },
          }),
      raw: [`type=EXECVE msg=audit(${auditId}): argc=2 a0="cat"`],
    };
  }

  /** One recorded session and what the node's shim saw of it. */
  async function session(target: SpawnedRecorder): Promise<void> {
    const created = await createExecSession<SessionCreateResponse>(target, alice);
    expect(created.status).toBe(201);
    const id = created.body.id;
    expected.add(`session.started|${id}`).add(`session.ended|${id}`);
    const r = await runStream(target, alice, created.body.streamPath);
    expect(r.exitCode).toBe(0);
    await shipAsShim(target, shimToken, [
      shimEvent(id, 'exec'),
      shimEvent(id, 'exec'),
      shimEvent(id, 'alert'),
    ]);
  }

  /** `n` sessions, three at a time (a 2-core machine). */
  async function sessions(target: SpawnedRecorder, n: number): Promise<void> {
    let left = n;
    const worker = async () => {
      while (left-- > 0) await session(target);
    };
    await Promise.all([worker(), worker(), worker()]);
  }

  const keys = (events: SiemEvent[]) => new Set(events.map(naturalKey));
  const syslogEvents = () => rsyslog.records().map((r) => r.event);
  const relpEvents = () => relp.records().map((r) => r.event);
  const allArrived = () =>
    [keys(webhook.events), keys(syslogEvents()), keys(relpEvents())].every((k) =>
      [...expected].every((e) => k.has(e)),
    );
  const progress = () =>
    `expected ${expected.size}; webhook has ${keys(webhook.events).size}, syslog ${keys(syslogEvents()).size}, relp ${keys(relpEvents()).size}`;

  it('delivers 100 sessions exactly once per id through a 60 s outage and a kill -9', async () => {
    rec = await startRecorder();
    const first = rec;
    // Live: the first 40 sessions arrive while they happen.
    await sessions(first, 40);
    await until(allArrived, 120_000, progress);

    // Both receivers go down for 60 s; sessions go on, their events wait in the spool.
    const down = Date.now();
    await rsyslog.stop();
    await relp.stop();
    await webhook.stop();
    await sessions(first, 30);
    await until(
      () => ['syslog', 'webhook', 'relp'].every((s) => first.stderr().includes(`sink ${s} is failing`)),
      60_000,
      () => first.stderr(),
    );
    await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - down))));

    // Back up; the recorder is killed in the middle of delivering the backlog.
    const before = webhook.events.length;
    let killed = false;
    const dead = first.exited;
    webhook.onBatch = () => {
      if (!killed && webhook.events.length > before) {
        killed = true;
        first.kill('SIGKILL');
      }
    };
    await rsyslog.start();
    await relp.start();
    await webhook.start();
    await dead;
    expect(killed).toBe(true);
    const stderr = first.stderr();
    // Failing and recovering are said once per sink, not once per retry.
    expect(stderr.match(/sink webhook is failing/g)).toHaveLength(1);
    expect(stderr.match(/sink syslog is failing/g)).toHaveLength(1);
    expect(stderr.match(/sink relp is failing/g)).toHaveLength(1);
    expect(stderr.match(/sink webhook delivers again/g)).toHaveLength(1);
    expect(keys(webhook.events).size).toBeLessThan(expected.size);

    // Started again on the same data dir: the backlog goes on, and 30 more sessions.
    webhook.onBatch = undefined;
    rec = await startRecorder();
    await sessions(rec, SESSIONS - 70);
    await until(allArrived, 180_000, progress);

    expect(expected.size).toBe(SESSIONS * 5);
    for (const [name, events] of [
      ['webhook', webhook.events],
      ['syslog', syslogEvents()],
      ['relp', relpEvents()],
    ] as const) {
      const byId = new Map<string, SiemEvent>();
      for (const e of events) byId.set(e.id, e);
      // De-duplicated by id: each real event exactly once, nothing else.
      const unique = [...byId.values()].map(naturalKey);
      expect(new Set(unique).size, `${name}: two ids for one event`).toBe(unique.length);
      expect(new Set(unique), name).toEqual(expected);
      // Who ran each command, without a join: the session's user and pod.
      const commands = [...byId.values()].filter((e) => e.type === 'command');
      expect(
        commands.every((e) => e.user?.name === 'alice' && e.orchestrator?.resource?.name === 'web'),
      ).toBe(true);
      process.stderr.write(`SIEM export ${name}: ${events.length} received, ${byId.size} unique\n`);
    }
    expect(webhook.refused).toBe(0);
  }, 600_000);
});
