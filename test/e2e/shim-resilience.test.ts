// The shim under trouble, end to end (real auditd, runc pod, recorder, shim daemon): a session
// leaves a nohup'd loop behind that execs `/bin/true tick-N` every ~0.1 s; meanwhile the shim is
// SIGKILLed and restarted, auditd rotates its log, and the recorder is stopped and started again
// on the same data dir and port. Counted by audit serial: every tick stored, none twice.

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionCreateResponse } from '../../common/wire.ts';
import { call, runStream } from '../server/client.ts';
import { skipE2E } from '../support/prereq.ts';
import { AUDIT_LOG, pollUntil, type StoredEvent, sessionEvents } from './shim-harness.ts';
import { type ShimRig, startShimRig } from './shim-rig.ts';

const TICKS = 200;
// A tag unique to this run: rotated audit logs still hold the ticks of earlier runs.
const TICK = `tick${randomBytes(3).toString('hex')}-`;

describe.skipIf(skipE2E('shim resilience e2e', 'root', 'runc', 'auditd'))('shim resilience (e2e)', () => {
  let rig: ShimRig | undefined;

  beforeAll(async () => {
    rig = await startShimRig('shim-res');
  }, 120_000);

  afterAll(async () => {
    await rig?.stop();
  }, 60_000);

  const ticks = (items: StoredEvent[]) => items.filter((e) => e.exec?.argv[1]?.startsWith(TICK));
  const stored = async (id: string) => ticks(await sessionEvents(rig!.rec(), rig!.alice, id));
  const maxTick = (items: StoredEvent[]) =>
    Math.max(0, ...items.map((e) => Number(e.exec!.argv[1]!.slice(TICK.length))));

  it('loses no event and stores none twice across shim restart, log rotation and recorder downtime', async () => {
    const { alice, dir } = rig!;
    const created = await call<SessionCreateResponse>(rig!.rec(), alice, 'POST', '/api/v1/sessions', {
      kind: 'exec',
      namespace: 'default',
      pod: 'web',
      command: [
        'bash',
        '-c',
        `nohup bash -c 'for ((i=1;i<=${TICKS};i++)); do /bin/true ${TICK}$i; sleep 0.1; done' >/dev/null 2>&1 &`,
      ],
      tty: false,
      stdin: false,
    });
    const id = created.body.id;
    expect((await runStream(rig!.rec(), alice, created.body.streamPath)).exitCode).toBe(0);
    const progress = (n: number, what: string) =>
      pollUntil(
        () => stored(id),
        (items) => maxTick(items) >= n,
        what,
        40_000,
      );

    // 1. The shim dies hard mid-stream, once its checkpoint carries the session's loop.
    await progress(15, 'the first ticks');
    await pollUntil(
      async () =>
        existsSync(join(dir, 'state/checkpoint.json'))
          ? readFileSync(join(dir, 'state/checkpoint.json'), 'utf8')
          : '',
      (text) => text.includes(id),
      'a checkpoint with the session',
    );
    rig!.child().kill('SIGKILL');
    await rig!.child().exited;
    const killedAt = maxTick(await stored(id));
    await rig!.startShim();
    await progress(killedAt + 20, 'ticks after the shim restart');

    // 2. auditd rotates audit.log → audit.log.1 mid-stream.
    const rotatedAt = maxTick(await stored(id));
    execFileSync('sh', ['-c', 'kill -USR1 $(pidof auditd)']);
    await progress(rotatedAt + 20, 'ticks after the rotation');

    // 3. The recorder goes away while the loop keeps exec'ing, then comes back on the same port.
    const downAt = maxTick(await stored(id));
    await rig!.stopRecorder();
    await pollUntil(
      async () => readFileSync(AUDIT_LOG, 'utf8'),
      (log) => log.includes(`a1="${TICK}${downAt + 20}"`),
      'ticks written while the recorder is down',
    );
    await rig!.startRecorder(); // on the same port
    const all = await pollUntil(
      () => stored(id),
      (items) => maxTick(items) >= TICKS,
      'every tick',
      60_000,
    );

    // Counted by audit serial: each tick once, each serial once.
    const serials = all.map((e) => `${e.bootId}:${e.auditSerial}`);
    expect(new Set(serials).size).toBe(serials.length);
    const numbers = all.map((e) => Number(e.exec!.argv[1]!.slice(TICK.length))).sort((a, b) => a - b);
    expect(numbers).toEqual(Array.from({ length: TICKS }, (_, i) => i + 1));
    expect(all.every((e) => e.exec?.session === id && e.exec.attribution === 'ancestry')).toBe(true);
    // And the serials are the ones auditd wrote (for the ticks still in the kept logs).
    const logged = new Map<number, number>();
    for (const f of readdirSync('/var/log/audit').filter((n) => n.startsWith('audit.log'))) {
      const text = readFileSync(join('/var/log/audit', f), 'utf8');
      // Older rotated logs hold earlier runs' ticks: only this run's tag counts.
      const pattern = new RegExp(
        `EXECVE msg=audit\\(\\d+\\.\\d+:(\\d+)\\): argc=2 a0="/bin/true" a1="${TICK}(\\d+)"`,
        'g',
      );
      for (const m of text.matchAll(pattern)) {
        logged.set(Number(m[2]), Number(m[1]));
      }
    }
    for (const e of all) {
      const n = Number(e.exec!.argv[1]!.slice(TICK.length));
      if (logged.has(n)) expect(e.auditSerial).toBe(logged.get(n));
    }
    expect(logged.size).toBeGreaterThan(0);
  }, 180_000);
});
