// The admission webhook for clusters without ValidatingAdmissionPolicy: the same rules as
// deploy/admission/policy.yaml, as a pure function over an AdmissionReview, plus a small HTTP
// handler. Mount the handler WITHOUT user authentication but on the TLS listener: the apiserver
// calls it (it authenticates to us only if the cluster is configured to; the answer leaks nothing).
import type { IncomingMessage, ServerResponse } from 'node:http';

export const SESSION_EXTRA = 'audited-exec.io/session';
export const DEFAULT_BREAK_GLASS_GROUPS: readonly string[] = ['audited-exec:break-glass'];
export const DEFAULT_DEBUG_NAMESPACE = 'audited-exec-debug';
export const DEFAULT_RECORDER = 'system:serviceaccount:audited-exec:recorder';
/** Requests bigger than this are not admission reviews we understand; the apiserver sends < 3 MiB. */
const MAX_BODY_BYTES = 8 * 1024 * 1024;

export interface AdmissionPolicy {
  breakGlassGroups: readonly string[];
  debugNamespace: string;
  /** The recorder's own user name; it may create debug pods without impersonating. */
  recorder?: string;
}

export interface AdmissionUserInfo {
  username?: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

export interface AdmissionRequest {
  uid: string;
  kind?: { group: string; version: string; kind: string };
  resource?: { group: string; version: string; resource: string };
  subResource?: string;
  name?: string;
  namespace?: string;
  operation?: string;
  userInfo?: AdmissionUserInfo;
  [key: string]: unknown;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: { code: number; reason: string; message: string };
  warnings?: string[];
  auditAnnotations?: Record<string, string>;
}

export interface AdmissionReview {
  apiVersion: string;
  kind: 'AdmissionReview';
  request?: AdmissionRequest;
  response?: AdmissionResponse;
}

type Guarded = 'exec' | 'attach' | 'ephemeralcontainers' | 'debug-pod';

/** Which guarded action a request is, or null when these rules do not concern it. */
function guardedAction(req: AdmissionRequest, policy: AdmissionPolicy): Guarded | null {
  if (req.resource && (req.resource.group !== '' || req.resource.resource !== 'pods')) return null;
  const sub = req.subResource ?? '';
  if (sub === 'exec' || sub === 'attach') return req.operation === 'CONNECT' ? sub : null;
  if (sub === 'ephemeralcontainers') return req.operation === 'UPDATE' ? sub : null;
  if (sub === '' && req.operation === 'CREATE' && req.namespace === policy.debugNamespace) return 'debug-pod';
  return null;
}

/**
 * Decides one AdmissionReview (admission.k8s.io/v1) and returns the review with `response` set.
 * Pure: no I/O, no clock. Requests outside the rules are allowed, so a too-broad webhook
 * registration cannot lock a cluster.
 */
export function review(input: AdmissionReview, options: AdmissionPolicy): AdmissionReview {
  const policy = { recorder: DEFAULT_RECORDER, ...options };
  const req = input.request;
  const apiVersion = input.apiVersion || 'admission.k8s.io/v1';
  if (!req || typeof req.uid !== 'string') {
    return {
      apiVersion,
      kind: 'AdmissionReview',
      response: {
        uid: '',
        allowed: false,
        status: status(400, 'BadRequest', 'not an AdmissionReview request'),
      },
    };
  }
  const action = guardedAction(req, policy);
  const user = req.userInfo ?? {};
  const hasSession = (user.extra?.[SESSION_EXTRA]?.length ?? 0) > 0;
  const breakGlass = (user.groups ?? []).some((g) => policy.breakGlassGroups.includes(g));
  const recorderDebugPod = action === 'debug-pod' && user.username === policy.recorder;
  const respond = (r: Omit<AdmissionResponse, 'uid'>): AdmissionReview => ({
    apiVersion,
    kind: 'AdmissionReview',
    response: { uid: req.uid, ...r },
  });

  if (action === null || hasSession || recorderDebugPod) return respond({ allowed: true });
  const what = action === 'debug-pod' ? 'pods/create' : `pods/${action}`;
  if (breakGlass) {
    const who = user.username ?? '(unknown user)';
    return respond({
      allowed: true,
      warnings: [`BREAK-GLASS: ${who} bypassed the recorder (${what}); this use is reported to the auditors`],
      auditAnnotations: { 'break-glass': `${who} used break-glass for ${what}` },
    });
  }
  return respond({ allowed: false, status: status(403, 'Forbidden', denial(action, policy)) });
}

function denial(action: Guarded, policy: AdmissionPolicy): string {
  const breakGlass = policy.breakGlassGroups[0] ?? '(none configured)';
  switch (action) {
    case 'exec':
    case 'attach':
      return `pods/${action} is only allowed through the recorder: use kubectl audited-exec (break-glass: group ${breakGlass})`;
    case 'ephemeralcontainers':
      return `ephemeral containers are only allowed through the recorder: use kubectl audited-exec (break-glass: group ${breakGlass})`;
    case 'debug-pod':
      return `pods in namespace ${policy.debugNamespace} are created only by the recorder: use kubectl audited-exec node/NODE`;
  }
}

function status(
  code: number,
  reason: string,
  message: string,
): { code: number; reason: string; message: string } {
  return { code, reason, message };
}

/**
 * `POST /admission/validate` for the server's router. Bad input gets an AdmissionReview that
 * denies (the apiserver's failurePolicy is Fail anyway) rather than a bare HTTP error.
 */
export function createAdmissionHandler(
  options: AdmissionPolicy,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST', 'content-type': 'text/plain' }).end('POST an AdmissionReview\n');
      return;
    }
    let parsed: AdmissionReview | null = null;
    try {
      const body = await readBody(req, MAX_BODY_BYTES);
      const value: unknown = JSON.parse(body.toString('utf8'));
      if (
        typeof value === 'object' &&
        value !== null &&
        (value as { kind?: unknown }).kind === 'AdmissionReview'
      ) {
        parsed = value as AdmissionReview;
      }
    } catch {
      parsed = null;
    }
    const answer = review(parsed ?? { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }, options);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
  };
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > limit) throw new Error('admission review too large');
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}
