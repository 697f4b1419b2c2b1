// auditd rotates its log 100 times (`kill -USR1`) while a burst of execs runs. Each rotation
// renames audit.log → .1 → … and deletes the oldest (num_logs=5 in this machine's auditd.conf:
// four rotated files kept). The shim opens every file auditd starts as soon as it sees audit.log
// change, and holds it open until read, so a rotated file is read whole however far behind the
// reader is. Only a file that came and went between two of its reads (on a machine busy enough to
// stall the shim for five rotations, 400 ms here) cannot be read: then the shim must say exactly
// which serials may be missing, in its log and as an events-missing alert in the session's events.
// Counted by audit serial: none stored twice, and every exec of the burst either stored or inside
// a reported range ("deleted before read and reported"); one outside any is lost silently.
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeMissing, type MissingRange } from '../../common/missing-range.ts';
import type { SessionRecord } from '../../common/wire.ts';
import { pollUntil, type StoredEvent, sessionEvents } from '../e2e/shim-harness.ts';
import { type Burst, exactlyOnce, highest, type ShimRig, startBurst, startShimRig } from '../e2e/shim-rig.ts';
import { call } from '../server/client.ts';
import { skipE2E } from '../support/prereq.ts';

const ROTATIONS = 100;
const AUDIT_LOG = '/var/log/audit/audit.log';

describe.skipIf(skipE2E('shim log rotation (fault)', 'root', 'runc', 'auditd'))(
  'shim under 100 log rotations',
  () => {
    let rig: ShimRig | undefined;
    beforeAll(async () => {
      rig = await startShimRig('shim-fault-rotate');
    }, 60_000);
    afterAll(async () => {
      await rig?.stop();
    }, 60_000);

    it('loses no exec silently and stores none twice', async () => {
      const auditd = execFileSync('pidof', ['auditd'], { encoding: 'utf8' }).trim().split(' ')[0]!;
      const burst = await startBurst(rig!, { count: 1500, pause: 0.001 });
      await burst.progress(50, 'the first execs of the burst');
      for (let i = 0; i < ROTATIONS; i++) {
        process.kill(Number(auditd), 'SIGUSR1');
        await new Promise((r) => setTimeout(r, 80));
      }
      await burst.ended;
      const { missing, silent, twice, reported } = await settle(rig!, burst);
      expect(twice).toBe(0);
      expect(silent, `execs lost without a report; reported: ${JSON.stringify(reported)}`).toEqual([]);
      if (missing.length > 0)
        console.warn(`${missing.length} execs deleted by auditd before the shim read them, all reported`);
    }, 180_000); // a burst on a loaded 2-core machine can take minutes; the polls fail first with a message

    it('reports the serials of a file auditd deleted while the shim was stopped, in the session', async () => {
      // A shim stalled for num_logs rotations (SIGSTOP stands in for a starved process): the files
      // auditd started meanwhile are deleted before it can open them. Their execs are gone; the
      // report must cover every one of them.
      const auditd = execFileSync('pidof', ['auditd'], { encoding: 'utf8' }).trim().split(' ')[0]!;
      const burst = await startBurst(rig!, { count: 1000, pause: 0.01 });
      await burst.progress(20, 'the first execs of the burst');
      rig!.child().kill('SIGSTOP');
      try {
        // Eight rotations, each file given execs of its own: the first three files started while
        // stopped are deleted by the fifth to eighth rotations.
        for (let i = 0; i < 8; i++) {
          process.kill(Number(auditd), 'SIGUSR1');
          await execInCurrentLog(burst, i);
        }
      } finally {
        rig!.child().kill('SIGCONT');
      }
      await burst.ended;
      const { missing, silent, twice, reported } = await settle(rig!, burst);
      expect(twice).toBe(0);
      expect(missing.length, 'execs in the deleted files').toBeGreaterThan(0);
      expect(silent, `execs lost without a report; reported: ${JSON.stringify(reported)}`).toEqual([]);
      expect(reported[0]!.reason).toMatch(/deleted/);
      const record = await call<SessionRecord>(
        rig!.rec(),
        rig!.alice,
        'GET',
        `/api/v1/sessions/${burst.session}`,
      );
      expect(record.body.alertCount).toBeGreaterThanOrEqual(1);
    }, 180_000);
  },
);

/** Exec n is missing but inside a reported range: its serial lies between those of the nearest
 *  stored execs before and after it, and a range lies there too. */
function covered(b: Burst, execs: StoredEvent[], ranges: MissingRange[], n: number): boolean {
  const serialOf = new Map(execs.map((e) => [Number(e.exec!.argv[1]!.slice(b.tag.length)), e.auditSerial]));
  let below = Number.NEGATIVE_INFINITY;
  let above = Number.POSITIVE_INFINITY;
  for (let i = n - 1; i >= 1 && below === Number.NEGATIVE_INFINITY; i--) below = serialOf.get(i) ?? below;
  for (let i = n + 1; i <= b.count && above === Number.POSITIVE_INFINITY; i++)
    above = serialOf.get(i) ?? above;
  return ranges.some((r) => (r.fromSerial ?? Number.NEGATIVE_INFINITY) > below && r.toSerial < above);
}

/** Once the burst is done: its execs as stored, and how the missing ones stand against the
 *  events-missing reports in the session (every report also in the shim's log). */
async function settle(rig: ShimRig, burst: Burst) {
  // The last exec stored, or a report of a gap after the last one stored (it may be in it).
  const all = await pollUntil(
    () => sessionEvents(rig.rec(), rig.alice, burst.session),
    (items) => {
      const execs = items.filter((e) => e.exec?.argv[1]?.startsWith(burst.tag));
      const last = Math.max(0, ...execs.map((e) => e.auditSerial));
      return (
        highest(execs, burst.tag) >= burst.count ||
        items.some((e) => e.alert?.missing && e.alert.missing.toSerial > last)
      );
    },
    'every exec of the burst, or a reported gap after the last one stored',
  );
  const execs = all.filter((e) => e.exec?.argv[1]?.startsWith(burst.tag));
  const { missing, twice } = exactlyOnce(burst, execs);
  const reported = all.flatMap((e) => (e.alert?.missing ? [e.alert.missing] : []));
  const log = rig.child().stderr();
  for (const r of reported) expect(log).toContain(describeMissing(r));
  return { missing, twice, reported, silent: missing.filter((n) => !covered(burst, execs, reported, n)) };
}

/** Waits until an exec of the burst is in the audit.log auditd started with the last rotation
 *  (the shim is stopped: the test reads the log itself). */
async function execInCurrentLog(burst: Burst, rotation: number): Promise<void> {
  await pollUntil(
    () => readFile(AUDIT_LOG, 'utf8').catch(() => ''),
    (text) => text.includes(burst.tag),
    `an exec of the burst in audit.log after rotation ${rotation + 1}`,
  );
}
