// The recorder is away for 60 s while a session's processes keep exec'ing: the shim spools to
// disk, keeps reconnecting (backoff capped at 1 s here), and delivers everything once the recorder
// is back on the same port and data dir. The burst runs before, through and after the outage.
// Counted by audit serial: no exec lost, none twice.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_LOG, pollUntil } from '../e2e/shim-harness.ts';
import { exactlyOnce, highest, type ShimRig, startBurst, startShimRig } from '../e2e/shim-rig.ts';
import { skipE2E } from '../support/prereq.ts';

const OUTAGE_MS = 60_000;
/** Execs at ~10/s: longer than the outage, so some come after the recorder is back. */
const EXECS = 800;

describe.skipIf(skipE2E('shim recorder outage (fault)', 'root', 'runc', 'auditd'))(
  'shim across a recorder outage',
  () => {
    let rig: ShimRig | undefined;
    beforeAll(async () => {
      rig = await startShimRig('shim-fault-outage');
    }, 60_000);
    afterAll(async () => {
      await rig?.stop();
    }, 60_000);

    it('loses no exec and stores none twice', async () => {
      // Detached: the loop outlives the session's stream, which the recorder's stop would end.
      const burst = await startBurst(rig!, { count: EXECS, pause: 0.1, detach: true });
      const downAt = highest(await burst.progress(10, 'the first execs'), burst.tag);
      await rig!.stopRecorder();
      const downSince = Date.now();
      // Execs while it is away, seen in auditd's own log (nothing else can tell).
      await pollUntil(
        async () => readFileSync(AUDIT_LOG, 'utf8'),
        (log) => log.includes(`a1="${burst.tag}${downAt + 40}"`),
        'execs written while the recorder is down',
      );
      await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - downSince))));
      await rig!.startRecorder();
      const all = await burst.progress(burst.count, 'every exec of the burst', 120_000);
      expect(exactlyOnce(burst, all)).toEqual({ missing: [], twice: 0 });
      expect(all.length).toBe(burst.count);
      expect(highest(all, burst.tag)).toBe(burst.count);
    }, 300_000); // a burst on a loaded 2-core machine can take minutes; the polls fail first with a message
  },
);
