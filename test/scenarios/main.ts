// Captures the attribution scenarios as fixtures (root, auditd, runc):
//   node test/scenarios/main.ts [--only NAME,NAME] [--rules execve|execve+fork] [--out DIR]
// writes DIR/<shape>.<rules>.log (the scenario's own audit events) and DIR/<shape>.<rules>.truth.json
// (the shape's truth, copied from shapes.ts) for every shape and rule set, then prints how the
// offline attribution of each capture compares with its truth.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { captureShapeRetrying, RULE_SETS, type RuleSet } from './capture.ts';
import { attributeIn, judge, type Mode } from './judge.ts';
import { SHAPES } from './shapes.ts';

export const FIXTURE_DIR = join(import.meta.dirname, '../fixtures/audit/scenarios');

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    rules: { type: 'string' },
    out: { type: 'string', default: FIXTURE_DIR },
  },
});
const only = values.only?.split(',');
const ruleSets = values.rules ? [values.rules as RuleSet] : RULE_SETS;
for (const r of ruleSets)
  if (!RULE_SETS.includes(r)) throw new Error(`--rules: one of ${RULE_SETS.join(', ')}`);
const shapes = SHAPES.filter((s) => !only || only.includes(s.name));
if (shapes.length === 0)
  throw new Error(`--only: no shape named ${only}; shapes: ${SHAPES.map((s) => s.name)}`);
mkdirSync(values.out, { recursive: true });

for (const shape of shapes) {
  for (const rules of ruleSets) {
    const { lines } = await captureShapeRetrying(shape, rules, {
      log: (m) => process.stderr.write(`${m}\n`),
    });
    const base = join(values.out, `${shape.name}.${rules}`);
    writeFileSync(`${base}.log`, `${lines.join('\n')}\n`);
    const truth = {
      shape: shape.name,
      about: shape.about,
      rules,
      truth: shape.truth,
      needsForkRules: shape.needsForkRules,
      alerts: shape.alerts,
    };
    writeFileSync(`${base}.truth.json`, `${JSON.stringify(truth, null, 1)}\n`);
    const offline: Mode = 'offline';
    const verdict = judge(attributeIn(offline, lines), truth);
    process.stdout.write(
      `${shape.name} ${rules}: ${lines.length} lines, ${verdict.execs} execs, ${verdict.wrong.length} wrong, ${verdict.unsure.length} inferred\n`,
    );
    for (const w of verdict.wrong) process.stdout.write(`  WRONG ${w}\n`);
  }
}
