// Session policy: which sessions need a reason or a ticket, where input is recorded, which debug
// profiles each group may use on nodes. Loaded once from YAML or JSON; evaluation is pure.
//
//   recordInput: false            # default for sessions no rule mentions
//   exec:                         # every matching rule applies (requirements add up)
//     - namespaces: ["prod-*"]    # globs: * any run, ? one character; default ["*"]
//       pods: ["*"]
//       requireReason: true
//       requireTicket: true
//       ticketPattern: "^OPS-[0-9]+$"
//       recordInput: true         # any matching rule that says true records input
//   nodeDebug:
//     requireReason: true
//     requireTicket: false
//     profiles:                   # absent: every profile allowed
//       - groups: ["sre"]
//         allow: [general, sysadmin]
import { readFile } from 'node:fs/promises';
import yaml from 'js-yaml';
import { AuditedExecError } from '../common/errors.ts';
import type { DebugProfile, SessionCreateRequest } from '../common/wire.ts';
import { kindInfo } from './sessions/kinds.ts';

export interface Requirements {
  requireReason?: boolean;
  requireTicket?: boolean;
  ticketPattern?: string;
  recordInput?: boolean;
}

export interface ExecRule extends Requirements {
  namespaces?: string[];
  pods?: string[];
}

export interface NodeDebugPolicy extends Requirements {
  profiles?: { groups: string[]; allow: DebugProfile[] }[];
}

export interface Policy {
  recordInput: boolean;
  exec: ExecRule[];
  nodeDebug: NodeDebugPolicy;
}

export const DEFAULT_POLICY: Policy = { recordInput: false, exec: [], nodeDebug: {} };
export const DEFAULT_PROFILE: DebugProfile = 'general';

export type PolicyDecision =
  | { allowed: true; recordInput: boolean }
  | { allowed: false; status: 403 | 422; code: string; message: string };

export function evaluatePolicy(
  policy: Policy,
  request: Pick<SessionCreateRequest, 'kind' | 'namespace' | 'pod' | 'reason' | 'ticket' | 'profile'>,
  user: { groups: string[] },
): PolicyDecision {
  const kind = kindInfo(request.kind);
  const rules: Requirements[] =
    kind.policySection === 'nodeDebug'
      ? [policy.nodeDebug]
      : policy.exec.filter(
          (r) => matchesAny(r.namespaces, request.namespace ?? '') && matchesAny(r.pods, request.pod ?? ''),
        );
  const where = kind.policyScope(request);
  if (rules.some((r) => r.requireReason) && !request.reason?.trim()) {
    return refuse(
      422,
      'POLICY_REASON_REQUIRED',
      `policy: ${where} require a reason; pass --reason "why you need this"`,
    );
  }
  const needTicket = rules.some((r) => r.requireTicket);
  if (needTicket && !request.ticket?.trim()) {
    return refuse(422, 'POLICY_TICKET_REQUIRED', `policy: ${where} require a ticket; pass --ticket ID`);
  }
  for (const r of rules) {
    if (
      r.ticketPattern &&
      request.ticket !== undefined &&
      !new RegExp(r.ticketPattern).test(request.ticket)
    ) {
      return refuse(
        422,
        'POLICY_TICKET_INVALID',
        `policy: ticket "${request.ticket}" does not match ${r.ticketPattern}`,
      );
    }
  }
  if (kind.policySection === 'nodeDebug' && policy.nodeDebug.profiles) {
    const profile = request.profile ?? DEFAULT_PROFILE;
    const allowed = new Set(
      policy.nodeDebug.profiles
        .filter((p) => p.groups.some((g) => g === '*' || user.groups.includes(g)))
        .flatMap((p) => p.allow),
    );
    if (!allowed.has(profile)) {
      const list = allowed.size ? [...allowed].join(', ') : 'none';
      return refuse(
        403,
        'POLICY_PROFILE_DENIED',
        `policy: your groups may not use debug profile "${profile}" (allowed: ${list})`,
      );
    }
  }
  const recordInput =
    rules.some((r) => r.recordInput === true) ||
    (policy.recordInput && !rules.some((r) => r.recordInput === false));
  return { allowed: true, recordInput };
}

function refuse(status: 403 | 422, code: string, message: string): PolicyDecision {
  return { allowed: false, status, code, message };
}

/** Glob with * and ?; an absent list matches everything. */
export function matchesAny(globs: string[] | undefined, value: string): boolean {
  if (!globs) return true;
  return globs.some((g) => globToRegExp(g).test(value));
}

export function globToRegExp(glob: string): RegExp {
  const body = [...glob]
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.|+()[\]{}]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`);
}

const PROFILES: DebugProfile[] = ['legacy', 'general', 'baseline', 'restricted', 'netadmin', 'sysadmin'];

/** Validates a parsed policy document; errors name the offending field. */
export function parsePolicy(doc: unknown, source = 'policy'): Policy {
  const fail = (what: string): never => {
    throw new AuditedExecError('POLICY_INVALID', `${source}: ${what}`);
  };
  if (doc === null || doc === undefined) return DEFAULT_POLICY;
  if (typeof doc !== 'object' || Array.isArray(doc)) fail('must be a mapping');
  const d = doc as Record<string, unknown>;
  const strings = (v: unknown, field: string): string[] | undefined => {
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string'))
      fail(`${field} must be a list of strings`);
    return v as string[];
  };
  const reqs = (v: Record<string, unknown>, field: string): Requirements => {
    for (const k of ['requireReason', 'requireTicket', 'recordInput'] as const) {
      if (v[k] !== undefined && typeof v[k] !== 'boolean') fail(`${field}.${k} must be true or false`);
    }
    if (v.ticketPattern !== undefined) {
      if (typeof v.ticketPattern !== 'string') fail(`${field}.ticketPattern must be a string`);
      try {
        new RegExp(v.ticketPattern as string);
      } catch {
        fail(`${field}.ticketPattern is not a valid regular expression`);
      }
    }
    return v as Requirements;
  };
  const exec = (d.exec ?? []) as unknown;
  if (!Array.isArray(exec)) fail('exec must be a list of rules');
  const rules = (exec as unknown[]).map((r, i) => {
    if (typeof r !== 'object' || r === null) fail(`exec[${i}] must be a mapping`);
    const rule = r as Record<string, unknown>;
    strings(rule.namespaces, `exec[${i}].namespaces`);
    strings(rule.pods, `exec[${i}].pods`);
    return reqs(rule, `exec[${i}]`) as ExecRule;
  });
  const nd = (d.nodeDebug ?? {}) as Record<string, unknown>;
  if (typeof nd !== 'object') fail('nodeDebug must be a mapping');
  reqs(nd, 'nodeDebug');
  if (nd.profiles !== undefined) {
    if (!Array.isArray(nd.profiles)) fail('nodeDebug.profiles must be a list');
    (nd.profiles as Record<string, unknown>[]).forEach((p, i) => {
      strings(p.groups, `nodeDebug.profiles[${i}].groups`) ??
        fail(`nodeDebug.profiles[${i}].groups is required`);
      const allow = strings(p.allow, `nodeDebug.profiles[${i}].allow`) ?? [];
      const bad = allow.find((a) => !PROFILES.includes(a as DebugProfile));
      if (bad)
        fail(`nodeDebug.profiles[${i}].allow: unknown profile "${bad}" (known: ${PROFILES.join(', ')})`);
    });
  }
  if (d.recordInput !== undefined && typeof d.recordInput !== 'boolean')
    fail('recordInput must be true or false');
  return { recordInput: d.recordInput === true, exec: rules, nodeDebug: nd as NodeDebugPolicy };
}

/** Reads a policy file (YAML; JSON is YAML too). No file → the default policy (nothing required). */
export async function loadPolicy(file: string | undefined): Promise<Policy> {
  if (!file) return DEFAULT_POLICY;
  const text = await readFile(file, 'utf8');
  let doc: unknown;
  try {
    doc = yaml.load(text, { filename: file });
  } catch (err) {
    throw new AuditedExecError('POLICY_INVALID', `${file}: ${(err as Error).message}`, { cause: err });
  }
  return parsePolicy(doc, file);
}
