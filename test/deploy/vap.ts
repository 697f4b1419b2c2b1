// Evaluates a ValidatingAdmissionPolicy the way kube-apiserver does, with a real CEL evaluator:
// resourceRules matching, variables in order (later ones see earlier ones), validations, the
// messageExpression of the first failure, and auditAnnotations. `request`, `object` (the request's
// object, or null), `params` and `variables` are bound; a policy that reads `authorizer` fails here
// loudly. evaluateBinding adds what a binding does: its matchResources and its paramRef (a missing
// param with parameterNotFoundAction Deny denies).
import { isCelError, run } from '@bufbuild/cel';

export interface PolicySpec {
  failurePolicy?: string;
  paramKind?: { apiVersion: string; kind: string };
  matchConstraints: {
    resourceRules: {
      apiGroups: string[];
      apiVersions: string[];
      operations: string[];
      resources: string[];
    }[];
  };
  variables?: { name: string; expression: string }[];
  validations: { expression: string; message?: string; messageExpression?: string; reason?: string }[];
  auditAnnotations?: { key: string; valueExpression: string }[];
}

export interface RequestLike {
  operation: string;
  resource: { group: string; version: string; resource: string };
  subResource?: string;
  [key: string]: unknown;
}

export interface PolicyResult {
  matched: boolean;
  /** Messages of failed validations, in order. */
  failures: string[];
  auditAnnotations: Record<string, string>;
}

/** JSON → CEL input: objects become Maps, integral numbers become CEL ints (bigint). */
export function toCel(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(toCel);
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (v && typeof v === 'object') return new Map(Object.entries(v).map(([k, x]) => [k, toCel(x)]));
  return v;
}

function fromCel(v: unknown): unknown {
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [k, fromCel(x)]));
  if (typeof v === 'bigint') return Number(v);
  if (v && typeof v === 'object' && Symbol.iterator in v && typeof v !== 'string') {
    return [...(v as Iterable<unknown>)].map(fromCel);
  }
  return v;
}

export function matches(spec: PolicySpec, req: RequestLike): boolean {
  const resource = req.subResource ? `${req.resource.resource}/${req.subResource}` : req.resource.resource;
  return spec.matchConstraints.resourceRules.some(
    (r) =>
      (r.operations.includes('*') || r.operations.includes(req.operation)) &&
      (r.apiGroups.includes('*') || r.apiGroups.includes(req.resource.group)) &&
      (r.apiVersions.includes('*') || r.apiVersions.includes(req.resource.version)) &&
      (r.resources.includes('*') || r.resources.includes(resource)),
  );
}

function evaluate(expr: string, bindings: Record<string, unknown>, what: string): unknown {
  const out = run(expr, bindings as Record<string, never>);
  if (isCelError(out)) throw new Error(`CEL error in ${what}: ${out.message}\n  expression: ${expr}`);
  return out;
}

/** Throws on any CEL error: with failurePolicy Fail an error would deny, so tests must see it. */
export function evaluatePolicy(
  spec: PolicySpec,
  request: RequestLike,
  options: { params?: unknown } = {},
): PolicyResult {
  if (!matches(spec, request)) return { matched: false, failures: [], auditAnnotations: {} };
  const variables = new Map<string, unknown>();
  const bound = {
    request: toCel(request),
    object: request.object === undefined ? null : toCel(request.object),
    params: options.params === undefined ? null : toCel(options.params),
  };
  const bindings = () => ({ ...bound, variables });
  for (const v of spec.variables ?? []) {
    variables.set(v.name, evaluate(v.expression, bindings(), `variable ${v.name}`));
  }
  const failures: string[] = [];
  for (const [i, v] of spec.validations.entries()) {
    const ok = evaluate(v.expression, bindings(), `validation ${i}`);
    if (typeof ok !== 'boolean') throw new Error(`validation ${i} returned ${typeof ok}, not bool`);
    if (ok) continue;
    const msg = v.messageExpression
      ? evaluate(v.messageExpression, bindings(), `messageExpression ${i}`)
      : (v.message ?? 'denied');
    if (typeof msg !== 'string') throw new Error(`messageExpression ${i} returned ${typeof msg}`);
    failures.push(msg);
  }
  const auditAnnotations: Record<string, string> = {};
  for (const a of spec.auditAnnotations ?? []) {
    const value = evaluate(a.valueExpression, bindings(), `auditAnnotation ${a.key}`);
    if (value === null) continue;
    if (typeof value !== 'string') throw new Error(`auditAnnotation ${a.key} returned ${typeof value}`);
    auditAnnotations[a.key] = value;
  }
  return { matched: true, failures, auditAnnotations };
}

/** Evaluates one expression against a request, for tests that probe a single variable. */
export function evaluateExpression(expr: string, request: RequestLike): unknown {
  return fromCel(evaluate(expr, { request: toCel(request), variables: new Map() }, 'expression'));
}

export interface BindingSpec {
  policyName: string;
  validationActions: string[];
  paramRef?: { name: string; namespace?: string; parameterNotFoundAction?: string };
  matchResources?: {
    namespaceSelector?: { matchLabels?: Record<string, string> };
    resourceRules?: PolicySpec['matchConstraints']['resourceRules'];
  };
}

/**
 * A policy through one binding, as the apiserver's dispatcher does it: the binding's
 * matchResources (namespaceSelector by the namespace's `kubernetes.io/metadata.name` label, which
 * is all these bindings use), then its paramRef: `params` is the object paramRef names, or
 * undefined when it does not exist (parameterNotFoundAction Deny then denies without evaluating).
 */
export function evaluateBinding(
  spec: PolicySpec,
  binding: BindingSpec,
  request: RequestLike & { namespace?: string },
  params?: unknown,
): PolicyResult {
  const unmatched = { matched: false, failures: [], auditAnnotations: {} };
  if (!matches(spec, request)) return unmatched;
  const m = binding.matchResources;
  if (
    m?.resourceRules &&
    !matches({ ...spec, matchConstraints: { resourceRules: m.resourceRules } }, request)
  ) {
    return unmatched;
  }
  const labels = m?.namespaceSelector?.matchLabels ?? {};
  for (const [k, v] of Object.entries(labels)) {
    if (k !== 'kubernetes.io/metadata.name') throw new Error(`namespaceSelector label ${k} is not modelled`);
    if (request.namespace !== v) return unmatched;
  }
  if (binding.paramRef && params === undefined) {
    if (binding.paramRef.parameterNotFoundAction !== 'Deny') return unmatched;
    return { matched: true, failures: [`no params object ${binding.paramRef.name}`], auditAnnotations: {} };
  }
  return evaluatePolicy(spec, request, { params });
}
