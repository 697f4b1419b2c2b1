// What `kubectl audited-exec [flags] TARGET -- COMMAND` asks for, as a SessionCreateRequest.
// Pure: the same checks kubectl exec makes, worded the way kubectl words them.
import { AuditedExecError } from '../common/errors.ts';
import type { DebugProfile, SessionCreateRequest } from '../common/wire.ts';

export type Target = { kind: 'pod'; name: string } | { kind: 'node'; name: string };

const POD_TYPES = new Set(['pod', 'pods', 'po']);
const NODE_TYPES = new Set(['node', 'nodes', 'no']);
/** Types kubectl exec resolves to a pod; we do not (the recorder authorizes one pod), so we say so. */
const CONTROLLER_TYPES = new Set([
  'deployment',
  'deployments',
  'deploy',
  'statefulset',
  'statefulsets',
  'sts',
  'daemonset',
  'daemonsets',
  'ds',
  'replicaset',
  'replicasets',
  'rs',
  'job',
  'jobs',
  'cronjob',
  'cronjobs',
  'cj',
  'service',
  'services',
  'svc',
  'replicationcontroller',
  'rc',
]);

export const DEBUG_PROFILES: readonly DebugProfile[] = [
  'legacy',
  'general',
  'baseline',
  'restricted',
  'netadmin',
  'sysadmin',
];

export function parseTarget(raw: string): Target {
  const slash = raw.indexOf('/');
  if (slash < 0) return { kind: 'pod', name: checkName(raw, raw) };
  const type = raw
    .slice(0, slash)
    .toLowerCase()
    .replace(/\.(apps|batch)$/, '');
  const name = checkName(raw.slice(slash + 1), raw);
  if (POD_TYPES.has(type)) return { kind: 'pod', name };
  if (NODE_TYPES.has(type)) return { kind: 'node', name };
  if (CONTROLLER_TYPES.has(type)) {
    throw new AuditedExecError(
      'UNSUPPORTED_TARGET',
      `audited-exec records sessions in a named pod, not ${raw}: pick one of its pods ` +
        `(kubectl get pods -l ...) and run kubectl audited-exec pod/NAME -- COMMAND`,
    );
  }
  throw new AuditedExecError(
    'UNSUPPORTED_TARGET',
    `cannot exec into "${raw}": the target must be POD, pod/NAME or node/NAME`,
  );
}

function checkName(name: string, raw: string): string {
  if (!name || name.includes('/')) {
    throw new AuditedExecError(
      'USAGE',
      `"${raw}" is not a valid target: expected POD, pod/NAME or node/NAME`,
    );
  }
  return name;
}

export interface ExecRequestInput {
  /** the positional arguments before `--` (target first) */
  operands: string[];
  /** arguments after `--`, null when there was no `--` */
  dashArgs: string[] | null;
  namespace: string;
  container?: string;
  stdin: boolean;
  tty: boolean;
  reason?: string;
  ticket?: string;
  image?: string;
  profile?: string;
}

export function buildSessionRequest(input: ExecRequestInput): SessionCreateRequest {
  const [rawTarget, ...extra] = input.operands;
  if (!rawTarget) {
    throw new AuditedExecError(
      'USAGE',
      "expected 'kubectl audited-exec (POD | pod/NAME | node/NAME) -- COMMAND [ARG1] ... [ARGN]'. " +
        'POD is a required argument; see kubectl audited-exec --help',
    );
  }
  if (extra.length > 0) {
    // kubectl 1.32 refuses the pre-1.x form too; we keep the same sentence.
    throw new AuditedExecError(
      'USAGE',
      'exec [POD] [COMMAND] is not supported anymore. Use exec [POD] -- [COMMAND] instead',
    );
  }
  const target = parseTarget(rawTarget);
  const command = input.dashArgs ?? [];
  const common = {
    command,
    tty: input.tty,
    stdin: input.stdin,
    namespace: input.namespace,
    ...(input.reason ? { reason: input.reason } : {}),
    ...(input.ticket ? { ticket: input.ticket } : {}),
  };
  if (target.kind === 'node') {
    if (input.container) {
      throw new AuditedExecError(
        'USAGE',
        '-c/--container does not apply to node/NAME (the debug pod has one container)',
      );
    }
    return {
      kind: 'node-debug',
      node: target.name,
      ...common,
      ...(input.image ? { image: input.image } : {}),
      ...(input.profile ? { profile: checkProfile(input.profile) } : {}),
    };
  }
  if (input.image || input.profile) {
    throw new AuditedExecError('USAGE', '--image and --profile only apply to node/NAME');
  }
  if (command.length === 0) {
    throw new AuditedExecError('USAGE', 'you must specify at least one command for the container');
  }
  return {
    kind: 'exec',
    pod: target.name,
    ...common,
    ...(input.container ? { container: input.container } : {}),
  };
}

function checkProfile(p: string): DebugProfile {
  const found = DEBUG_PROFILES.find((x) => x === p);
  if (!found) {
    throw new AuditedExecError('USAGE', `invalid --profile "${p}": one of ${DEBUG_PROFILES.join(', ')}`);
  }
  return found;
}
