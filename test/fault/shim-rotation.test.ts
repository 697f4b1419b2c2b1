// auditd rotates its log 100 times (`kill -USR1`) while a burst of execs runs. Each rotation
// renames audit.log → .1 → … and deletes the oldest (num_logs=5 here: four rotated files kept), so
// the shim may lag at most four rotations behind: a file auditd deleted before the shim opened it is
// gone (the shim then logs a warning and goes on with the oldest file left). This test rotates every
// 80 ms, which keeps every file small, and proves the shim keeps up: it follows each rotated file to
// its end and on to its successor, however many rotations passed meanwhile. Counted by audit
// serial: no exec lost, none stored twice.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exactlyOnce, type ShimRig, startBurst, startShimRig } from '../e2e/shim-rig.ts';
import { skipE2E } from '../support/prereq.ts';

const ROTATIONS = 100;

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

    it('loses no exec and stores none twice', async () => {
      const auditd = execFileSync('pidof', ['auditd'], { encoding: 'utf8' }).trim().split(' ')[0]!;
      const burst = await startBurst(rig!, { count: 1500, pause: 0.001 });
      await burst.progress(50, 'the first execs of the burst');
      for (let i = 0; i < ROTATIONS; i++) {
        process.kill(Number(auditd), 'SIGUSR1');
        await new Promise((r) => setTimeout(r, 80));
      }
      await burst.ended;
      const all = await burst.progress(burst.count, 'every exec of the burst');
      expect(exactlyOnce(burst, all)).toEqual({ missing: [], twice: 0 });
      expect(all.length).toBe(burst.count);
      expect(rig!.child().stderr()).not.toContain('lines auditd rotated away');
    }, 180_000); // a burst on a loaded 2-core machine can take minutes; the polls fail first with a message
  },
);
