// The shim is SIGKILLed in the middle of a burst of execs (no checkpoint written on the way out,
// events half-assembled, a batch half-spooled) and started again on the same state dir. Counted by
// audit serial: none stored twice, and none lost silently (an exec missing because auditd deleted a
// log before the restarted shim reached it, as other suites rotating it meanwhile can make happen,
// must lie inside a range the shim reported).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settleBurst } from '../e2e/missing-report.ts';
import { highest, type ShimRig, startBurst, startShimRig } from '../e2e/shim-rig.ts';
import { skipE2E } from '../support/prereq.ts';

describe.skipIf(skipE2E('shim killed (fault)', 'root', 'runc', 'auditd'))('shim SIGKILLed mid-burst', () => {
  let rig: ShimRig | undefined;
  beforeAll(async () => {
    rig = await startShimRig('shim-fault-kill');
  }, 60_000);
  afterAll(async () => {
    await rig?.stop();
  }, 60_000);

  it('loses no exec silently and stores none twice', async () => {
    // Paced (a `sleep` between execs) so that both kills land while the loop is still running.
    const burst = await startBurst(rig!, { count: 1500, pause: 0.001 });
    const atKill: number[] = [];
    for (const n of [200, 700]) {
      atKill.push(highest(await burst.progress(n, `${n} execs stored`), burst.tag));
      await rig!.killShim();
    }
    await burst.ended;
    expect(Math.max(...atKill)).toBeLessThan(burst.count);
    const { missing, silent, twice, reported } = await settleBurst(rig!, burst);
    expect(twice).toBe(0);
    expect(silent, `execs lost without a report; reported: ${JSON.stringify(reported)}`).toEqual([]);
    if (missing.length > 0) console.warn(`${missing.length} execs deleted by auditd unread, all reported`);
  }, 180_000); // a burst on a loaded 2-core machine can take minutes; the polls fail first with a message
});
