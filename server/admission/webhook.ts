// The admission webhook for clusters without ValidatingAdmissionPolicy: the same rules as
// deploy/admission/policy.yaml, as a pure function over an AdmissionReview, plus a small HTTP
// handler. The handler is mounted without user authentication: its caller is the apiserver, which
// it identifies by its client certificate (caller.ts), and it looks up the session a marker names in
// the recorder's store, so only a session the recorder opened, for that user, while it is open,
// passes (grants.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { SESSION_EXTRA, SESSION_LABEL } from '../../common/session-marker.ts';
import type { BreakGlassUse } from '../../common/siem-event.ts';
import { grantRefusal, type MarkedRequest, type SessionGrant } from './grants.ts';

export const DEFAULT_BREAK_GLASS_GROUPS: readonly string[] = ['audited-exec:break-glass'];
export const DEFAULT_DEBUG_NAMESPACE = 'audited-exec-debug';
export const DEFAULT_RECORDER = 'system:serviceaccount:audited-exec:recorder';
/**
 * An exec/attach review is ~2 KiB and a debug pod's ~10 KiB; the apiserver caps any at 3 MiB. Small,
 * so a caller cannot make the recorder buffer megabytes per request.
 */
export const MAX_BODY_BYTES = 128 * 1024;
/**
 * The apiserver prefixes a webhook's audit-annotation keys with the webhook's name and requires
 * exactly one '/', so this key must not carry a prefix of its own: in the audit event it reads
 * `exec.audited-exec.io/forged-session` (deploy/admission-webhook/webhook.yaml names the webhooks).
 */
export const FORGED_ANNOTATION = 'forged-session';

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

/** The values of the session marker extra on a request ([] when it carries none). */
export function sessionMarkers(req: AdmissionRequest): string[] {
  return req.userInfo?.extra?.[SESSION_EXTRA] ?? [];
}

/** The marker id a webhook should look up: set only when exactly one value is presented. */
export function markerToLookUp(input: AdmissionReview): string | undefined {
  const values = input.request ? sessionMarkers(input.request) : [];
  return values.length === 1 ? values[0] : undefined;
}

/**
 * Decides one AdmissionReview (admission.k8s.io/v1) and returns the review with `response` set.
 * `grant` is what the recorder's store says about the session the marker names (grants.ts
 * grantOf; null when no such session is open). Pure: no I/O, no clock. Requests outside the
 * rules are allowed, so a too-broad webhook registration cannot lock a cluster.
 */
export function review(
  input: AdmissionReview,
  options: AdmissionPolicy,
  grant: SessionGrant | null = null,
): AdmissionReview {
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
  const who = user.username ?? '(unknown user)';
  const markers = sessionMarkers(req);
  const breakGlass = (user.groups ?? []).some((g) => policy.breakGlassGroups.includes(g));
  const recorderDebugPod = action === 'debug-pod' && user.username === policy.recorder;
  const respond = (r: Omit<AdmissionResponse, 'uid'>): AdmissionReview => ({
    apiVersion,
    kind: 'AdmissionReview',
    response: { uid: req.uid, ...r },
  });

  if (action === null) return respond({ allowed: true });
  const what = action === 'debug-pod' ? 'pods/create' : `pods/${action}`;
  if (markers.length > 0) {
    // A marker is a claim that the recorder made this request for an open session: it is either
    // exactly that, or a forgery, refused whoever presents it (break-glass included) and reported.
    const why =
      markers.length === 1
        ? grantRefusal(grant?.id === markers[0] ? grant : null, who, markedRequest(action, req))
        : `${markers.length} session markers on one request`;
    if (why === null) return respond({ allowed: true });
    const marker = markers.length === 1 ? markers[0] : markers.join(',');
    return respond({
      allowed: false,
      status: status(
        403,
        'Forbidden',
        `the session marker on this request does not name a session the recorder opened for ${who} on this target; the attempt is reported`,
      ),
      auditAnnotations: {
        [FORGED_ANNOTATION]: `${who} presented session marker "${marker}" for ${what} ${req.namespace ?? ''}/${req.name ?? ''}: ${why}`,
      },
    });
  }
  if (recorderDebugPod) return respond({ allowed: true });
  if (breakGlass) {
    return respond({
      allowed: true,
      warnings: [`BREAK-GLASS: ${who} bypassed the recorder (${what}); this use is reported to the auditors`],
      auditAnnotations: { 'break-glass': `${who} used break-glass for ${what}` },
    });
  }
  return respond({ allowed: false, status: status(403, 'Forbidden', denial(action, policy)) });
}

/** What of a guarded request a session's grant is compared with. */
function markedRequest(action: Guarded, req: AdmissionRequest): MarkedRequest {
  const object = (req.object ?? {}) as {
    container?: unknown;
    spec?: { nodeName?: unknown };
    metadata?: { labels?: Record<string, unknown> };
  };
  const text = (v: unknown) => (typeof v === 'string' ? v : '');
  switch (action) {
    case 'exec':
    case 'attach':
      return {
        action,
        namespace: req.namespace ?? '',
        pod: req.name ?? '',
        container: text(object.container),
      };
    case 'ephemeralcontainers':
      return { action };
    case 'debug-pod': {
      const label = object.metadata?.labels?.[SESSION_LABEL];
      return {
        action,
        node: text(object.spec?.nodeName),
        sessionLabel: typeof label === 'string' ? label : undefined,
      };
    }
  }
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

export interface AdmissionHandlerOptions {
  policy: AdmissionPolicy;
  /** The grant of the session with this id, from the recorder's store (null: none open). */
  lookup: (sessionId: string) => Promise<SessionGrant | null>;
  /** null when the caller is the apiserver, else why not (caller.ts); absent: anyone may call. */
  caller?: (socket: TLSSocket) => string | null;
  /** Told of every break-glass use this webhook allowed (the SIEM export sends it on). */
  onBreakGlass?: (use: BreakGlassUse) => void;
  clock?: () => Date;
}

/**
 * `POST /admission/validate` for the server's router. A caller that is not the apiserver gets a
 * bare 403 before its body is read; bad input gets an AdmissionReview that denies (the
 * apiserver's failurePolicy is Fail anyway) rather than a bare HTTP error.
 */
export function createAdmissionHandler(
  options: AdmissionHandlerOptions,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST', 'content-type': 'text/plain' }).end('POST an AdmissionReview\n');
      return;
    }
    const refused = options.caller?.(req.socket as TLSSocket) ?? null;
    if (refused !== null) {
      plain(res, 403, `only the Kubernetes API server may call this endpoint: ${refused}\n`);
      return;
    }
    if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) {
      plain(res, 413, `an admission review is at most ${MAX_BODY_BYTES} bytes here\n`);
      return;
    }
    let parsed: AdmissionReview | null = null;
    try {
      const body = await readBody(req, MAX_BODY_BYTES);
      if (body === null) {
        plain(res, 413, `an admission review is at most ${MAX_BODY_BYTES} bytes here\n`);
        return;
      }
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
    const input = parsed ?? { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' };
    const id = markerToLookUp(input);
    const grant = id === undefined ? null : await options.lookup(id);
    const answer = review(input, options.policy, grant);
    const use = breakGlassUse(input, answer, (options.clock ?? (() => new Date()))());
    if (use) options.onBreakGlass?.(use);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
  };
}

/** The break-glass use an answer allowed, or null when it allowed none. */
export function breakGlassUse(
  input: AdmissionReview,
  answer: AdmissionReview,
  now: Date,
): BreakGlassUse | null {
  const req = input.request;
  if (!req || !answer.response?.allowed || !answer.response.auditAnnotations?.['break-glass']) return null;
  const sub = req.subResource ? `pods/${req.subResource}` : 'pods/create';
  return {
    uid: req.uid,
    user: req.userInfo?.username ?? '(unknown user)',
    groups: req.userInfo?.groups ?? [],
    action: sub,
    ...(req.namespace ? { namespace: req.namespace } : {}),
    ...(req.name ? { name: req.name } : {}),
    time: now.toISOString(),
  };
}

function plain(res: ServerResponse, code: number, text: string): void {
  // The connection closes: an unread body must not be drained into the next request.
  res.writeHead(code, { 'content-type': 'text/plain', connection: 'close' }).end(text);
}

/**
 * The body, or null once it passes `limit`. Reading then stops without destroying the request (the
 * socket must stay open for the 413), and the answer closes the connection.
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (b: Buffer) => {
      size += b.length;
      if (size <= limit) return void chunks.push(b);
      req.off('data', onData).off('end', onEnd).pause();
      resolve(null);
    };
    const onEnd = () => resolve(Buffer.concat(chunks));
    req.on('data', onData).on('end', onEnd).once('error', reject);
  });
}
