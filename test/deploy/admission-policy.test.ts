// The shipped ValidatingAdmissionPolicy, read from deploy/admission/policy.yaml and evaluated with
// a real CEL evaluator against the shared table of admission requests.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { ADMISSION_CASES, BREAK_GLASS, DEBUG_NS } from './admission-cases.ts';
import { evaluateExpression, evaluatePolicy, type PolicySpec } from './vap.ts';

interface Doc {
  kind: string;
  metadata: { name: string };
  spec: Record<string, unknown>;
}

const docs = parseAllDocuments(
  readFileSync(new URL('../../deploy/admission/policy.yaml', import.meta.url), 'utf8'),
).map((d) => d.toJS() as Doc);
const policy = (name: string) => {
  const doc = docs.find((d) => d.kind === 'ValidatingAdmissionPolicy' && d.metadata.name === name);
  if (!doc) throw new Error(`policy ${name} missing from deploy/admission/policy.yaml`);
  return doc.spec as unknown as PolicySpec;
};
const enforce = policy('audited-exec-require-recorder');
const report = policy('audited-exec-report-break-glass');

describe('admission policy (CEL, as shipped)', () => {
  it.each(ADMISSION_CASES)('$name', (c) => {
    const main = evaluatePolicy(enforce, c.request);
    const warn = evaluatePolicy(report, c.request);
    expect(main.failures.length === 0).toBe(c.allowed);
    if (c.message) expect(main.failures.join('\n')).toContain(c.message);
    expect(warn.failures.length > 0).toBe(c.reported);
    expect('break-glass' in main.auditAnnotations).toBe(c.reported);
    if (c.reported) {
      expect(warn.failures[0]).toMatch(/^BREAK-GLASS: oncall bypassed the recorder/);
      expect(main.auditAnnotations['break-glass']).toContain('oncall');
    }
  });

  it('does not match port-forward, logs or pod updates', () => {
    const base = {
      resource: { group: '', version: 'v1', resource: 'pods' },
      userInfo: { username: 'alice' },
    };
    for (const r of [
      { ...base, operation: 'CONNECT', subResource: 'portforward' },
      { ...base, operation: 'GET', subResource: 'log' },
      { ...base, operation: 'UPDATE' },
    ]) {
      expect(evaluatePolicy(enforce, r).matched).toBe(false);
    }
  });

  it('binds the enforcing policy with Deny and the report with Warn+Audit only', () => {
    const bindings = docs.filter((d) => d.kind === 'ValidatingAdmissionPolicyBinding');
    const actions = Object.fromEntries(bindings.map((b) => [b.spec.policyName, b.spec.validationActions]));
    expect(actions).toEqual({
      'audited-exec-require-recorder': ['Deny'],
      'audited-exec-report-break-glass': ['Warn', 'Audit'],
    });
    expect(enforce.failurePolicy).toBe('Fail');
  });

  it('keeps the shared variables of both policies identical', () => {
    const vars = (p: PolicySpec) =>
      Object.fromEntries((p.variables ?? []).map((v) => [v.name, v.expression]));
    const a = vars(enforce);
    const b = vars(report);
    for (const name of ['breakGlassGroups', 'debugNamespace', 'subResource', 'hasSession', 'breakGlass']) {
      expect(b[name], name).toBe(a[name]);
    }
    const req = { operation: 'CONNECT', resource: { group: '', version: 'v1', resource: 'pods' } };
    expect(evaluateExpression(a.breakGlassGroups!, req)).toEqual([BREAK_GLASS]);
    expect(evaluateExpression(a.debugNamespace!, req)).toBe(DEBUG_NS);
  });

  it('the evaluator fails on an expression that reads an absent field', () => {
    const unguarded: PolicySpec = {
      ...enforce,
      variables: [{ name: 'subResource', expression: 'request.subResource' }],
      validations: [{ expression: "variables.subResource != 'exec'" }],
    };
    const create = { operation: 'CREATE', resource: { group: '', version: 'v1', resource: 'pods' } };
    expect(() => evaluatePolicy(unguarded, create)).toThrow(/CEL error/);
  });
});
