// Counting a burst's execs against the shim's events-missing reports: an exec the recorder does not
// have is either inside a range the shim reported (auditd deleted the file before the shim could
// read it) or lost silently. Other suites rotating this machine's auditd at the same time can make
// the first happen to any shim test; only the second is a bug.
import { describeMissing, type MissingRange } from '../../common/missing-range.ts';
import { pollUntil, type StoredEvent, sessionEvents } from './shim-harness.ts';
import { type Burst, exactlyOnce, highest, type ShimRig } from './shim-rig.ts';

export interface Settled {
  /** burst numbers not stored */
  missing: number[];
  /** stored twice (or in another session) */
  twice: number;
  reported: MissingRange[];
  /** missing and inside no reported range */
  silent: number[];
}

/** Once the burst has ended: waits for its last exec (or a report of a gap after the last one
 *  stored), then counts. Every report must also be in the shim's log. */
export async function settleBurst(rig: ShimRig, burst: Burst): Promise<Settled> {
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
  for (const r of reported) {
    if (!log.includes(describeMissing(r))) throw new Error(`reported but not logged: ${describeMissing(r)}`);
  }
  return { missing, twice, reported, silent: missing.filter((n) => !covered(burst, execs, reported, n)) };
}

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
