// The shim's disk (spool and checkpoint, a 1 MiB tmpfs here) fills up while a session's commands
// run. The shim must not crash or drop what it could not spool: it logs why, stops reading the
// audit log (auditd's log is the buffer meanwhile) and keeps its checkpoint behind the held
// events. Once there is room, everything is delivered. Counted by audit serial: none lost, none twice.

import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exactlyOnce, highest, type ShimRig, startBurst, startShimRig } from '../e2e/shim-rig.ts';
import { skipE2E } from '../support/prereq.ts';
import { fillDisk } from '../support/small-disk.ts';

describe.skipIf(skipE2E('shim spool on a full disk (fault)', 'root', 'runc', 'auditd'))(
  'shim with a full spool disk',
  () => {
    let rig: ShimRig | undefined;
    beforeAll(async () => {
      rig = await startShimRig('shim-fault-spoolfull', { stateTmpfs: '1m' });
    }, 60_000);
    afterAll(async () => {
      await rig?.stop();
    }, 60_000);

    it('holds the events, says why, and delivers every one once there is room', async () => {
      const filler = join(rig!.dir, 'state', 'filler');
      fillDisk(filler);
      const from = rig!.child().stderr().length;
      const burst = await startBurst(rig!, { count: 80, pause: 0.05 });
      await rig!.child().waitFor(/"msg":"spool refused events".*disk is full \(ENOSPC\)/, 30_000, from);
      await burst.ended;
      // Still running, and nothing of the burst reached the recorder while the disk was full.
      const alive = await Promise.race([rig!.child().exited.then(() => false), Promise.resolve(true)]);
      expect(alive).toBe(true);
      expect(await burst.stored()).toEqual([]);
      rmSync(filler);
      const all = await burst.progress(burst.count, 'every exec of the burst', 60_000);
      expect(exactlyOnce(burst, all)).toEqual({ missing: [], twice: 0 });
      expect(highest(all, burst.tag)).toBe(burst.count);
      expect(rig!.child().stderr().slice(from)).toContain('"msg":"spool writable again"');
    }, 180_000);
  },
);
