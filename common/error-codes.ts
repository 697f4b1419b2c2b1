// The refusal codes on the wire between the recorder and its clients (the plugin, the shim, the
// web UI's JSON answers), with what each means and the HTTP status it is answered with. The recorder
// puts the code of every refusal into the metav1.Status it returns, as the first cause's `reason`
// (`details.causes[0].reason`), so a client switches on the code and never on the message; the
// Status's own `reason` stays the Kubernetes one (Forbidden, NotFound, …) that kubectl reads.
// server/http/respond.ts is the one place a thrown error becomes a Status with this table.
import type { Status } from './status.ts';

interface CodeInfo {
  /** The HTTP status the refusal is answered with; null when it passes on another server's. */
  http: number | null;
  means: string;
}

export const ERROR_CODES = {
  // The request itself
  UNAUTHENTICATED: { http: 401, means: 'no bearer token or client certificate the cluster accepts' },
  HTTP_NO_ROUTE: { http: 404, means: 'no endpoint at this path' },
  HTTP_METHOD: { http: 405, means: 'the endpoint exists but not for this method' },
  HTTP_BAD_JSON: { http: 400, means: 'the request body is not JSON' },
  HTTP_CONTENT_TYPE: { http: 415, means: 'the request body is not sent as application/json' },
  HTTP_TOO_LARGE: { http: 413, means: 'the request body is over the endpoint’s limit' },
  HTTP_URI_TOO_LONG: { http: 414, means: 'the query string is over 8 KiB' },
  INTERNAL: { http: 500, means: 'a fault in the recorder; its log has the details' },

  // Creating a session (POST /api/v1/sessions)
  SESSION_INVALID: { http: 422, means: 'the session request is malformed (a field is missing or wrong)' },
  SESSION_IMPERSONATION_DENIED: {
    http: 403,
    means: 'the caller is in a group the recorder never impersonates',
  },
  POLICY_REASON_REQUIRED: { http: 422, means: 'the recorder’s policy requires --reason for this target' },
  POLICY_TICKET_REQUIRED: { http: 422, means: 'the recorder’s policy requires --ticket for this target' },
  POLICY_TICKET_INVALID: { http: 422, means: 'the ticket does not match the policy’s ticket pattern' },
  POLICY_PROFILE_DENIED: { http: 403, means: 'the caller’s groups may not use this node-debug profile' },
  POD_NOT_FOUND: { http: 404, means: 'the apiserver has no such pod (or the caller may not see it)' },
  SESSION_POD_COMPLETED: { http: 400, means: 'the pod has finished; nothing runs in it any more' },
  SESSION_NO_CONTAINER: { http: 400, means: 'the pod has no container of that name' },
  SESSION_APISERVER_REFUSED: { http: null, means: 'the apiserver refused a request made as the user' },
  SESSION_DEBUG_POD_REFUSED: { http: null, means: 'the apiserver refused to create the node-debug pod' },
  SESSION_RECORDING_UNAVAILABLE: { http: 503, means: 'the recorder cannot write recordings now' },
  SESSION_RECORDING_NO_SPACE: { http: 507, means: 'the recorder has no space left for recordings' },
  STORE_DISK_FULL: { http: 507, means: 'the recorder’s data disk is full; nothing new is started' },
  STORE_UNAVAILABLE: {
    http: 503,
    means: 'the recorder’s database (--database) does not answer; nothing new is started',
  },

  // Opening a session's stream
  SESSION_BAD_ID: { http: 404, means: 'not a session id (ids are lower-case UUIDs)' },
  SESSION_NOT_FOUND: { http: 404, means: 'no session with this id' },
  SESSION_NOT_YOURS: { http: 403, means: 'only the user who created a session may open its stream' },
  SESSION_STREAM_USED: { http: 409, means: 'the session’s stream was opened already; create a new session' },
  SESSION_STREAM_EXPIRED: { http: 410, means: 'the stream was not opened in time after create' },
  SESSION_PROTOCOL: { http: 400, means: 'the WebSocket does not offer a channel subprotocol' },
  SESSION_STREAM_HANDSHAKE: {
    http: null,
    means: 'the WebSocket handshake with the apiserver failed (no connection, timeout, or a bad answer)',
  },
  SESSION_STREAM_PROTOCOL: {
    http: null,
    means: 'a WebSocket peer broke RFC 6455 framing (the stream was closed with 1002, 1007 or 1009)',
  },
  RECORDING_FAILED: { http: 503, means: 'the session’s recording could not be written, so it was ended' },
  NODE_DEBUG_TIMEOUT: { http: 504, means: 'the node-debug pod did not start within the timeout' },
  NODE_DEBUG_POD_GONE: { http: 500, means: 'the node-debug pod was deleted before it started' },
  SESSION_TERMINATED: {
    http: 410,
    means: 'a moderator ended the session (the stream’s channel-3 status names who and why)',
  },

  // Ending someone's session (POST /api/v1/sessions/{id}/terminate)
  SESSION_TERMINATE_FORBIDDEN: {
    http: 403,
    means: 'the caller may not terminate this session (terminate on sessions.audited-exec.io)',
  },
  SESSION_TERMINATE_INVALID: { http: 422, means: 'the reason is missing or too long' },
  SESSION_NOT_RUNNING: { http: 409, means: 'only a running session can be terminated' },

  // Reading sessions, events and evidence
  SESSION_FORBIDDEN: {
    http: 403,
    means: 'the caller may not read this session (RBAC on sessions.audited-exec.io)',
  },
  SESSION_BAD_QUERY: { http: 400, means: 'a list filter (state, since, until, limit) is not readable' },
  RECORDING_NOT_FOUND: { http: 404, means: 'the session has no recording' },
  STORE_BAD_CURSOR: { http: 400, means: 'the continue token is not one this recorder issued' },
  EVENTS_BAD_CURSOR: { http: 400, means: 'the events continue token is not one this recorder issued' },
  EVENTS_BAD_QUERY: { http: 400, means: 'the events limit is out of range' },
  EVIDENCE_BAD_ID: { http: 400, means: 'not a session id' },
  EVIDENCE_BAD_REQUEST: { http: 400, means: 'the evidence request body is malformed' },
  EVIDENCE_FORBIDDEN: { http: 403, means: 'the caller may not read, export or hold this evidence' },
  EVIDENCE_NOT_FOUND: { http: 404, means: 'no evidence for this session' },
  EVIDENCE_SESSION_RUNNING: {
    http: 409,
    means: 'the session is still running; evidence is sealed at its end',
  },
  EVIDENCE_CHAIN_CONFLICT: { http: 409, means: 'another seal of the session landed first; ask again' },
  METRICS_FORBIDDEN: { http: 403, means: 'the caller may not get the non-resource URL /metrics' },

  // Browser sign-in through the identity provider (OIDC)
  OIDC_UNAVAILABLE: {
    http: 503,
    means: 'the identity provider (--oidc-issuer-url) did not answer the recorder',
  },
  OIDC_STATE_INVALID: {
    http: 400,
    means: 'the sign-in callback is not for a sign-in this browser started (missing, expired or used)',
  },
  OIDC_DENIED: { http: 401, means: 'the identity provider answered the sign-in with an error' },
  OIDC_TOKEN_INVALID: {
    http: 401,
    means:
      'the identity provider’s answer was refused (ID token signature, issuer, audience, expiry or nonce)',
  },
  OIDC_CLAIMS_INVALID: { http: 401, means: 'the ID token does not name a user by the configured claims' },

  // Several replicas
  REPLICA_DRAINING: {
    http: 503,
    means: 'this recorder replica is shutting down and takes no new sessions; another replica will',
  },
  REPLICA_UNREACHABLE: { http: 502, means: 'the replica recording this session did not answer' },
  STORAGE_UNAVAILABLE: {
    http: 503,
    means: 'the object store (--object-store) does not answer; recordings wait on the replicas',
  },
  STORAGE_BAD_KEY: { http: 400, means: 'not a key the object store accepts' },
  STORAGE_CONFIG: { http: 500, means: 'the object store is configured wrongly (see the recorder log)' },

  // The node shim
  SHIM_UNAUTHENTICATED: { http: 401, means: 'the shim’s token is missing or not for this audience' },
  SHIM_FORBIDDEN: { http: 403, means: 'the caller is not a shim service account' },
  SHIM_NO_NODE: { http: 403, means: 'the shim’s token is not bound to a node' },
  SHIM_MALFORMED: {
    http: 400,
    means: 'a shim message that is not a valid events batch; nothing of it was stored',
  },
  SHIM_FOREIGN_NODE: {
    http: 403,
    means: 'a shim sent events for another node than its token is bound to; nothing of it was stored',
  },

  // The recorder's own calls to the apiserver
  KUBE_UNREACHABLE: { http: 503, means: 'the recorder cannot reach the apiserver' },
  KUBE_TIMEOUT: { http: 503, means: 'the apiserver did not answer the recorder in time' },
  KUBE_CREDENTIALS: { http: 503, means: 'the recorder’s own credentials for the apiserver failed' },
  KUBE_NO_CONFIG: { http: 503, means: 'the recorder has no kubeconfig' },
  KUBE_NOT_IN_CLUSTER: { http: 503, means: 'the recorder is not in a cluster and has no kubeconfig' },
  AUTH_TOKENREVIEW_FAILED: { http: 503, means: 'the apiserver refused the recorder’s TokenReview' },
  AUTH_ACCESSREVIEW_FAILED: { http: 503, means: 'the apiserver refused the recorder’s SubjectAccessReview' },
} as const satisfies Record<string, CodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CODES, code);
}

/** The refusal code a Status carries, when it carries one this side knows. */
export function errorCodeOf(status: Partial<Status> | null | undefined): ErrorCode | undefined {
  for (const cause of status?.details?.causes ?? []) {
    if (cause.reason && isErrorCode(cause.reason)) return cause.reason;
  }
  return undefined;
}
