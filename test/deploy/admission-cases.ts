// One table of admission requests, run against the shipped ValidatingAdmissionPolicy (real CEL)
// and against the webhook's review(): both enforcement paths must decide every case alike.
// Requests are shaped like the apiserver's JSON: empty fields (subResource, groups, extra) omitted.
// Both paths see the same recorder state, STORED_SESSIONS: the webhook through its store lookup,
// the policy through the params ConfigMap the recorder publishes from it.

import type { SessionRecord } from '../../common/wire.ts';
import type { AdmissionRequest } from '../../server/admission/webhook.ts';

export const SESSION = '3f6c1c52-8d1e-4a43-9b7e-0a4f5d8c2e11';
/** alice's node-debug session on node n1, whose debug pod is about to be created. */
export const DEBUG_SESSION = '9a1d4b7e-2c3f-4e5a-8b6c-7d8e9f0a1b2c';
/** oncall's (break-glass) own recorded exec session. */
export const ONCALL_SESSION = 'c0ffee00-1111-4222-8333-444455556666';
/** alice's exec session that has ended. */
export const ENDED_SESSION = 'deadbeef-0000-4000-8000-000000000001';

const record = (
  r: Partial<SessionRecord> & Pick<SessionRecord, 'id' | 'kind' | 'state' | 'user'>,
): SessionRecord => ({
  groups: [],
  command: ['sh'],
  tty: true,
  stdin: true,
  attribution: 'marker',
  auditId: r.id,
  startedAt: '2025-01-01T00:00:00Z',
  recordInput: false,
  ...r,
});

export const STORED_SESSIONS: SessionRecord[] = [
  record({
    id: SESSION,
    kind: 'exec',
    state: 'running',
    user: 'alice',
    namespace: 'shop',
    pod: 'web-0',
    container: 'web',
    node: 'n1',
  }),
  record({ id: DEBUG_SESSION, kind: 'node-debug', state: 'pending', user: 'alice', node: 'n1' }),
  record({
    id: ONCALL_SESSION,
    kind: 'exec',
    state: 'running',
    user: 'oncall',
    namespace: 'shop',
    pod: 'web-0',
    container: 'web',
  }),
  record({
    id: ENDED_SESSION,
    kind: 'exec',
    state: 'ended',
    user: 'alice',
    namespace: 'shop',
    pod: 'web-0',
    container: 'web',
  }),
];
export const RECORDER = 'system:serviceaccount:audited-exec:recorder';
export const DEBUG_NS = 'audited-exec-debug';
export const BREAK_GLASS = 'audited-exec:break-glass';

export interface AdmissionCase {
  name: string;
  request: AdmissionRequest & {
    operation: string;
    resource: { group: string; version: string; resource: string };
  };
  allowed: boolean;
  /** allowed, but break-glass use that must be reported */
  reported: boolean;
  /** a word the denial message must contain */
  message?: string;
  /** refused because it carries a session marker that is not one of the recorder's: annotated */
  forged?: boolean;
}

const alice = { username: 'alice', uid: 'u-1', groups: ['dev', 'system:authenticated'] };
const marked = (user: AdmissionRequest['userInfo'], ...ids: string[]) => ({
  ...user,
  extra: { 'audited-exec.io/session': ids },
});
const inSession = marked(alice, SESSION);
const mallory = { username: 'mallory', groups: ['dev', 'system:authenticated'] };
const breakGlass = { username: 'oncall', groups: [BREAK_GLASS, 'system:authenticated'] };
const pods = { group: '', version: 'v1', resource: 'pods' };
const podKind = { group: '', version: 'v1', kind: 'Pod' };

function exec(
  sub: 'exec' | 'attach',
  userInfo: AdmissionRequest['userInfo'],
  namespace = 'shop',
  name = 'web-0',
) {
  return {
    uid: `req-${sub}`,
    kind: { group: '', version: 'v1', kind: sub === 'exec' ? 'PodExecOptions' : 'PodAttachOptions' },
    resource: pods,
    subResource: sub,
    name,
    namespace,
    operation: 'CONNECT',
    userInfo,
    object: {
      kind: 'PodExecOptions',
      apiVersion: 'v1',
      stdin: true,
      tty: true,
      container: 'web',
      command: ['sh'],
    },
  };
}

function ephemeral(userInfo: AdmissionRequest['userInfo']) {
  return {
    uid: 'req-eph',
    kind: podKind,
    resource: pods,
    subResource: 'ephemeralcontainers',
    name: 'web-0',
    namespace: 'shop',
    operation: 'UPDATE',
    userInfo,
  };
}

function createPod(
  namespace: string,
  userInfo: AdmissionRequest['userInfo'],
  o: { node?: string; sessionLabel?: string } = {},
) {
  const node = o.node ?? 'n1';
  return {
    uid: 'req-pod',
    kind: podKind,
    resource: pods,
    name: `node-debugger-${node}-abcde`,
    namespace,
    operation: 'CREATE',
    userInfo,
    object: {
      kind: 'Pod',
      apiVersion: 'v1',
      metadata: {
        name: `node-debugger-${node}-abcde`,
        labels: {
          'app.kubernetes.io/managed-by': 'audited-exec',
          'audited-exec.io/session': o.sessionLabel ?? DEBUG_SESSION,
        },
      },
      spec: {
        nodeName: node,
        hostPID: true,
        containers: [{ name: 'debugger', securityContext: { privileged: true } }],
      },
    },
  };
}

export const ADMISSION_CASES: AdmissionCase[] = [
  { name: 'recorder-impersonated exec', request: exec('exec', inSession), allowed: true, reported: false },
  {
    name: 'direct exec by a user',
    request: exec('exec', alice),
    allowed: false,
    reported: false,
    message: 'kubectl audited-exec',
  },
  {
    name: 'direct attach by a user',
    request: exec('attach', alice),
    allowed: false,
    reported: false,
    message: 'pods/attach',
  },
  {
    name: 'exec with an empty session extra',
    request: exec('exec', { ...alice, extra: { 'audited-exec.io/session': [] } }),
    allowed: false,
    reported: false,
  },
  {
    name: 'exec by a request with no groups or extra at all',
    request: exec('exec', { username: 'system:anonymous' }),
    allowed: false,
    reported: false,
  },
  {
    name: 'direct exec by the recorder itself (no session)',
    request: exec('exec', { username: RECORDER, groups: ['system:serviceaccounts'] }),
    allowed: false,
    reported: false,
  },
  { name: 'break-glass exec', request: exec('exec', breakGlass), allowed: true, reported: true },
  {
    name: 'break-glass exec inside a session',
    request: exec('exec', marked(breakGlass, ONCALL_SESSION)),
    allowed: true,
    reported: false,
  },
  // Issue 14, finding 1: a marker is honoured only for a session the recorder opened, for that
  // user, on that target, while it is open; anything else is refused and annotated.
  {
    name: 'forged marker naming no session',
    request: exec('exec', marked(mallory, 'not-a-session')),
    allowed: false,
    reported: false,
    forged: true,
    message: 'does not name a session the recorder opened',
  },
  {
    name: "another user's open session",
    request: exec('exec', marked(mallory, SESSION)),
    allowed: false,
    reported: false,
    forged: true,
  },
  {
    name: 'an ended session',
    request: exec('exec', marked(alice, ENDED_SESSION)),
    allowed: false,
    reported: false,
    forged: true,
  },
  {
    name: "the session's user on another pod",
    request: exec('exec', inSession, 'shop', 'db-0'),
    allowed: false,
    reported: false,
    forged: true,
  },
  {
    name: "the session's user in another container",
    request: { ...exec('exec', inSession), object: { kind: 'PodExecOptions', container: 'sidecar' } },
    allowed: false,
    reported: false,
    forged: true,
  },
  {
    name: 'attach with an exec session',
    request: exec('attach', inSession),
    allowed: false,
    reported: false,
    forged: true,
  },
  {
    name: 'two markers on one request',
    request: exec('exec', marked(alice, SESSION, DEBUG_SESSION)),
    allowed: false,
    reported: false,
    forged: true,
  },
  {
    name: 'break-glass with a forged marker',
    request: exec('exec', marked(breakGlass, 'hide-me')),
    allowed: false,
    reported: false,
    forged: true,
  },
  {
    name: 'ephemeral container by a user',
    request: ephemeral(alice),
    allowed: false,
    reported: false,
    message: 'ephemeral containers',
  },
  {
    name: 'ephemeral container with a session marker (the recorder adds none)',
    request: ephemeral(inSession),
    allowed: false,
    reported: false,
    forged: true,
  },
  {
    name: 'ephemeral container by break-glass',
    request: ephemeral(breakGlass),
    allowed: true,
    reported: true,
  },
  {
    name: 'debug pod by the recorder',
    request: createPod(DEBUG_NS, { username: RECORDER, groups: ['system:serviceaccounts'] }),
    allowed: true,
    reported: false,
  },
  {
    name: 'debug pod by the recorder impersonating',
    request: createPod(DEBUG_NS, marked(alice, DEBUG_SESSION)),
    allowed: true,
    reported: false,
  },
  {
    name: 'debug pod on another node than the session',
    request: createPod(DEBUG_NS, marked(alice, DEBUG_SESSION), { node: 'n2' }),
    allowed: false,
    reported: false,
    forged: true,
  },
  {
    name: 'debug pod with an exec session marker',
    request: createPod(DEBUG_NS, inSession, { sessionLabel: SESSION }),
    allowed: false,
    reported: false,
    forged: true,
  },
  {
    name: "debug pod for another user's session",
    request: createPod(DEBUG_NS, marked(mallory, DEBUG_SESSION)),
    allowed: false,
    reported: false,
    forged: true,
  },
  {
    name: 'privileged pod in the debug namespace by a user',
    request: createPod(DEBUG_NS, alice),
    allowed: false,
    reported: false,
    message: DEBUG_NS,
  },
  {
    name: 'break-glass pod in the debug namespace',
    request: createPod(DEBUG_NS, breakGlass),
    allowed: true,
    reported: true,
  },
  {
    name: 'ordinary pod elsewhere by a user',
    request: createPod('shop', alice),
    allowed: true,
    reported: false,
  },
];
