// Every attribution scenario run now on real parts (this machine's auditd, runc containers), with
// the shim's pipeline reading audit.log live beside it, /proc and all, as the daemon does; then the
// fresh capture replayed offline and without /proc. Under both rule sets the deploy can have.

import { describe, expect, it } from 'vitest';
import type { AttributedExec, AttributionAlert } from '../../common/wire.ts';
import { syscallKind } from '../../shim/exec-event.ts';
import { parseAuditLine } from '../../shim/parser.ts';
import { ProcFs } from '../../shim/procfs.ts';
import { skipE2E } from '../support/prereq.ts';
import { captureShapeRetrying, RULE_SETS, type RuleSet } from './capture.ts';
import {
  attributeIn,
  judge,
  missingAlerts,
  outputsIn,
  pipelineFor,
  REPLAY_MODES,
  type TruthFile,
} from './judge.ts';
import { SHAPES } from './shapes.ts';
import { processTrace } from './trace.ts';

/** Feeds a live pipeline as auditd writes, leaving out fork events when the rules would not log them. */
function liveFeed(rules: RuleSet, out: AttributedExec[], alerts: AttributionAlert[]) {
  const pipeline = pipelineFor('live', out, new ProcFs(), alerts);
  const dropped = new Set<number>();
  return {
    line(text: string): void {
      if (rules === 'execve') {
        const r = parseAuditLine(text);
        if (r.kind === 'record') {
          if (r.type === 'SYSCALL' && syscallKind(r) !== null && syscallKind(r) !== 'exec')
            dropped.add(r.serial);
          if (dropped.has(r.serial)) return;
        }
      }
      pipeline.line(text);
    },
    flush: () => pipeline.flush(),
  };
}

describe.skipIf(skipE2E('attribution scenarios, live', 'root', 'runc', 'auditd'))(
  'attribution scenarios, live on real auditd and runc',
  () => {
    for (const shape of SHAPES) {
      for (const rules of RULE_SETS) {
        it(`${shape.name} (${rules}): live with /proc, offline and without /proc`, async () => {
          const live: AttributedExec[] = [];
          const liveAlerts: AttributionAlert[] = [];
          const feed = liveFeed(rules, live, liveAlerts);
          const { lines } = await captureShapeRetrying(shape, rules, { onLine: (l) => feed.line(l) });
          feed.flush();
          const truth: TruthFile = {
            shape: shape.name,
            rules,
            truth: shape.truth,
            needsForkRules: shape.needsForkRules,
            alerts: shape.alerts,
          };
          const ids = new Set(attributeIn('offline', lines).map((e) => e.auditId));
          const mine = live.filter((e) => ids.has(e.auditId));
          // On failure: what the shim read, and what it raised, to reason about a one-off.
          const why = () =>
            `live alerts: ${JSON.stringify(liveAlerts)}\nthe capture:\n${processTrace(lines)}`;
          expect(mine.length, why()).toBe(ids.size);
          expect(judge(mine, truth).wrong, why()).toEqual([]);
          expect(
            missingAlerts(
              liveAlerts.filter((a) => ids.has(a.auditId)),
              truth,
            ),
            why(),
          ).toEqual([]);
          for (const mode of REPLAY_MODES) {
            const { execs, alerts } = outputsIn(mode, lines);
            expect(judge(execs, truth).wrong, `${mode}\n${why()}`).toEqual([]);
            expect(missingAlerts(alerts, truth), `${mode}\n${why()}`).toEqual([]);
          }
        });
      }
    }
  },
);
