// Scale does not change answers: a captured attribution scenario (test/fixtures/audit/scenarios)
// repeated to ~1M records with fresh serials, times and pids (which come round again every 50
// copies, so the table also meets pid reuse at scale) must give every copy exactly the single
// file's answer: the same number of execs in each session and in none.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AttributedExec } from '../common/wire.ts';
import { attributeLines } from '../shim/offline.ts';
import { repeatedLines } from './audit-log-gen.ts';
import type { BenchResult } from './result.ts';

const SCENARIOS = join(import.meta.dirname, '../test/fixtures/audit/scenarios');
export const SCALE_FIXTURES = ['init-loop-adopts.execve+fork.log', 'two-sessions.execve+fork.log'];

/** session (or "none") → execs, for one copy's outputs */
type Counts = Map<string, number>;

function countOf(execs: Iterable<AttributedExec>): Counts {
  const counts: Counts = new Map();
  for (const e of execs) counts.set(e.session ?? 'none', (counts.get(e.session ?? 'none') ?? 0) + 1);
  return counts;
}

const same = (a: Counts, b: Counts) => a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);

/** Copies of `fixture` (a file name in the scenarios folder) whose counts differ from the single file's. */
export function scaleCheck(
  fixture: string,
  minRecords: number,
): { copies: number; records: number; differing: number[]; single: Counts } {
  const single = readFileSync(join(SCENARIOS, fixture), 'utf8').split('\n');
  const one = countOf(attributeLines(single).output.filter((o): o is AttributedExec => !('alert' in o)));
  const { lines, copies, serialSpan } = repeatedLines(single, minRecords);
  const perCopy: AttributedExec[][] = Array.from({ length: copies }, () => []);
  attributeLines(lines, {
    onOutput: (o) => {
      if (o.exec) perCopy[Math.floor((o.event.serial - 1) / serialSpan)]!.push(o.exec);
    },
  });
  const differing = perCopy.flatMap((execs, i) => (same(countOf(execs), one) ? [] : [i]));
  return { copies, records: lines.length, differing, single: one };
}

export function scaleBench(o: { records: number; log: (l: string) => void }): BenchResult {
  const figures: Record<string, number | string> = {};
  const targets: { what: string; met: boolean }[] = [];
  for (const fixture of SCALE_FIXTURES) {
    const t0 = Date.now();
    const r = scaleCheck(fixture, o.records);
    o.log(`scale: ${fixture}: ${r.copies} copies, ${r.differing.length} differ (${Date.now() - t0} ms)`);
    figures[`${fixture} copies`] = r.copies;
    figures[`${fixture} records`] = r.records;
    figures[`${fixture} copies differing`] = r.differing.length;
    targets.push({
      what: `${fixture}: every copy attributed like the single file`,
      met: r.differing.length === 0,
    });
  }
  return {
    name: 'attribution at scale',
    method: `each fixture repeated to >= ${o.records} records with fresh serials, times and pids (pids come round every 50 copies); per copy, execs per session compared with the single file's`,
    figures,
    targets,
  };
}
