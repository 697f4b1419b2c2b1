// One table of admission requests, run against the shipped ValidatingAdmissionPolicy (real CEL)
// and against the webhook's review(): both enforcement paths must decide every case alike.
// Requests are shaped like the apiserver's JSON: empty fields (subResource, groups, extra) omitted.
import type { AdmissionRequest } from '../../server/admission/webhook.ts';

export const SESSION = '3f6c1c52-8d1e-4a43-9b7e-0a4f5d8c2e11';
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
}

const alice = { username: 'alice', uid: 'u-1', groups: ['dev', 'system:authenticated'] };
const inSession = { ...alice, extra: { 'audited-exec.io/session': [SESSION] } };
const breakGlass = { username: 'oncall', groups: [BREAK_GLASS, 'system:authenticated'] };
const pods = { group: '', version: 'v1', resource: 'pods' };
const podKind = { group: '', version: 'v1', kind: 'Pod' };

function exec(sub: 'exec' | 'attach', userInfo: AdmissionRequest['userInfo'], namespace = 'shop') {
  return {
    uid: `req-${sub}`,
    kind: { group: '', version: 'v1', kind: sub === 'exec' ? 'PodExecOptions' : 'PodAttachOptions' },
    resource: pods,
    subResource: sub,
    name: 'web-0',
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

function createPod(namespace: string, userInfo: AdmissionRequest['userInfo']) {
  return {
    uid: 'req-pod',
    kind: podKind,
    resource: pods,
    name: 'node-debugger-n1-abcde',
    namespace,
    operation: 'CREATE',
    userInfo,
    object: {
      kind: 'Pod',
      apiVersion: 'v1',
      spec: { hostPID: true, containers: [{ name: 'debugger', securityContext: { privileged: true } }] },
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
    request: exec('exec', { ...breakGlass, extra: inSession.extra }),
    allowed: true,
    reported: false,
  },
  {
    name: 'ephemeral container by a user',
    request: ephemeral(alice),
    allowed: false,
    reported: false,
    message: 'ephemeral containers',
  },
  { name: 'ephemeral container in a session', request: ephemeral(inSession), allowed: true, reported: false },
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
    request: createPod(DEBUG_NS, inSession),
    allowed: true,
    reported: false,
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
