// The shipped ValidatingAdmissionPolicy, read from deploy/admission/policy.yaml and evaluated with
// a real CEL evaluator against the shared table of admission requests.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { grantOf, grantParams } from '../../server/admission/grants.ts';
import { ADMISSION_CASES, BREAK_GLASS, DEBUG_NS, STORED_SESSIONS } from './admission-cases.ts';
import {
  type BindingSpec,
  evaluateBinding,
  evaluateExpression,
  evaluatePolicy,
  type PolicySpec,
  type RequestLike,
} from './vap.ts';

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
const verify = policy('audited-exec-verify-session');
const verifyBindings = docs
  .filter(
    (d) =>
      d.kind === 'ValidatingAdmissionPolicyBinding' && d.spec.policyName === 'audited-exec-verify-session',
  )
  .map((d) => d.spec as unknown as BindingSpec);

/** The params ConfigMap as the recorder publishes it from its store (server/admission/session-params.ts). */
function paramsFor(sessions = STORED_SESSIONS) {
  const data = grantParams(sessions.flatMap((s) => grantOf(s) ?? []));
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'audited-exec-sessions', namespace: 'audited-exec' },
    ...(Object.keys(data).length ? { data } : {}),
  };
}

/** Every Deny policy through its bindings, as the apiserver runs them: failures of all, in order. */
function admit(
  request: RequestLike & { namespace?: string },
  o: { params?: unknown } = { params: paramsFor() },
) {
  const { params } = o;
  const main = evaluatePolicy(enforce, request);
  const checks = verifyBindings.map((b) => evaluateBinding(verify, b, request, params));
  return {
    failures: [...main.failures, ...checks.flatMap((r) => r.failures)],
    auditAnnotations: Object.assign(
      {},
      main.auditAnnotations,
      ...checks.map((r) => r.auditAnnotations),
    ) as Record<string, string>,
  };
}

describe('admission policy (CEL, as shipped)', () => {
  it.each(ADMISSION_CASES)('$name', (c) => {
    const main = admit(c.request);
    const warn = evaluatePolicy(report, c.request);
    expect(main.failures.length === 0).toBe(c.allowed);
    if (c.message) expect(main.failures.join('\n')).toContain(c.message);
    expect('forged-session' in main.auditAnnotations).toBe(Boolean(c.forged));
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
      'audited-exec-verify-session': ['Deny', 'Audit'],
    });
    expect(enforce.failurePolicy).toBe('Fail');
    expect(verify.failurePolicy).toBe('Fail');
    // Both bindings of the session check read the recorder's ConfigMap and deny without it.
    expect(verifyBindings).toHaveLength(2);
    for (const b of verifyBindings) {
      expect(b.paramRef).toEqual({
        name: 'audited-exec-sessions',
        namespace: 'audited-exec',
        parameterNotFoundAction: 'Deny',
      });
    }
    const params = parseAllDocuments(
      readFileSync(new URL('../../deploy/admission/params.yaml', import.meta.url), 'utf8'),
    ).map((d) => d.toJS() as Doc);
    expect(params.map((d) => [d.kind, d.metadata])).toEqual([
      ['ConfigMap', expect.objectContaining({ name: 'audited-exec-sessions', namespace: 'audited-exec' })],
    ]);
  });

  it('keeps the shared variables of both policies identical', () => {
    const vars = (p: PolicySpec) =>
      Object.fromEntries((p.variables ?? []).map((v) => [v.name, v.expression]));
    const a = vars(enforce);
    const b = vars(report);
    for (const name of ['breakGlassGroups', 'debugNamespace', 'subResource', 'hasSession', 'breakGlass']) {
      expect(b[name], name).toBe(a[name]);
    }
    const c = vars(verify);
    for (const name of ['debugNamespace', 'subResource']) expect(c[name], name).toBe(a[name]);
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

describe("admission policy: the session marker against the recorder's params (CEL, as shipped)", () => {
  const exec = ADMISSION_CASES.find((x) => x.name === 'recorder-impersonated exec')!.request;

  it('a genuine open session passes; the same request once the session ended is refused and annotated', () => {
    expect(admit(exec).failures).toEqual([]);
    const ended = STORED_SESSIONS.map((s) =>
      s.id === exec.userInfo!.extra!['audited-exec.io/session']![0] ? { ...s, state: 'ended' as const } : s,
    );
    const after = admit(exec, { params: paramsFor(ended) });
    expect(after.failures).toEqual([
      expect.stringContaining('does not name a session the recorder opened for alice'),
    ]);
    expect(after.auditAnnotations['forged-session']).toMatch(
      /^alice presented session marker "3f6c1c52-.*" for pods\/exec shop\/web-0$/,
    );
  });

  it('with no params object (ConfigMap deleted) no exec passes, marked or break-glass', () => {
    const breakGlass = ADMISSION_CASES.find((x) => x.name === 'break-glass exec')!.request;
    expect(admit(exec, {}).failures).toContain('no params object audited-exec-sessions');
    expect(admit(breakGlass, {}).failures).toContain('no params object audited-exec-sessions');
  });

  it('pods created outside the debug namespace never wait for the params object', () => {
    const ordinary = ADMISSION_CASES.find((x) => x.name === 'ordinary pod elsewhere by a user')!.request;
    expect(admit(ordinary, {}).failures).toEqual([]);
  });

  it('an empty params object (no open sessions, data omitted) refuses every marker without a CEL error', () => {
    const empty = paramsFor([]);
    expect('data' in empty).toBe(false);
    expect(admit(exec, { params: empty }).failures).toHaveLength(1);
  });
});
