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
import { readFile, stat } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionRecord } from '../../common/wire.ts';
import { settleBurst } from '../e2e/missing-report.ts';
import { pollUntil } from '../e2e/shim-harness.ts';
import { type Burst, type ShimRig, startBurst, startShimRig } from '../e2e/shim-rig.ts';
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
      const { missing, silent, twice, reported } = await settleBurst(rig!, burst);
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
          // auditd folds signals that arrive before it handled the last one into one rotation:
          // wait for this one to happen (a new audit.log), then for an exec of the burst in it.
          const before = (await stat(AUDIT_LOG)).ino;
          process.kill(Number(auditd), 'SIGUSR1');
          await execInNewLog(burst, before, i);
        }
      } finally {
        rig!.child().kill('SIGCONT');
      }
      await burst.ended;
      const { missing, silent, twice, reported } = await settleBurst(rig!, burst);
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

/** Waits until audit.log is a file other than inode `before` (auditd rotated) and holds an exec of
 *  the burst (the shim is stopped: the test reads the log itself). */
async function execInNewLog(burst: Burst, before: number, rotation: number): Promise<void> {
  await pollUntil(
    async () => {
      const ino = (await stat(AUDIT_LOG).catch(() => null))?.ino;
      if (ino === undefined || ino === before) return false;
      return (await readFile(AUDIT_LOG, 'utf8').catch(() => '')).includes(burst.tag);
    },
    (done) => done,
    `rotation ${rotation + 1} and an exec of the burst in the new audit.log`,
  );
}
