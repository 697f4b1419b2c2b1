// Wire types shared by the plugin, the server, the shim and the web UI. docs/architecture.md
// "Wire contracts" is the prose version of this file; change both together.

import type { MissingRange } from './missing-range.ts';

export type SessionKind = 'exec' | 'node-debug';

/** POST /api/v1/sessions */
export interface SessionCreateRequest {
  kind: SessionKind;
  namespace?: string;
  pod?: string;
  container?: string;
  command: string[];
  tty: boolean;
  stdin: boolean;
  reason?: string;
  ticket?: string;
  /** node-debug only */
  node?: string;
  image?: string;
  profile?: DebugProfile;
}

export type DebugProfile = 'legacy' | 'general' | 'baseline' | 'restricted' | 'netadmin' | 'sysadmin';

/** 201 answer to POST /api/v1/sessions */
export interface SessionCreateResponse {
  id: string;
  /** WebSocket path (v5.channel.k8s.io) the client opens next, e.g. /api/v1/sessions/<id>/stream */
  streamPath: string;
}

/** pending: created, stream not yet attached; running; ended: command finished;
 *  interrupted: the stream broke (client, apiserver or recorder died) before an exit status;
 *  refused: never started (policy, RBAC, pod not found);
 *  terminated: a moderator ended it (terminatedBy, terminationReason). */
export type SessionState = 'pending' | 'running' | 'ended' | 'interrupted' | 'refused' | 'terminated';

/** How the shim will attribute this session's processes. */
export type AttributionMode = 'marker' | 'inferred';

export interface SessionRecord {
  id: string;
  kind: SessionKind;
  state: SessionState;
  user: string;
  groups: string[];
  uid?: string;
  /** Who called the apiserver (the recorder's own identity) while impersonating `user`. */
  impersonator?: string;
  reason?: string;
  ticket?: string;
  namespace?: string;
  pod?: string;
  container?: string;
  containerId?: string;
  node?: string;
  image?: string;
  profile?: DebugProfile;
  command: string[];
  tty: boolean;
  stdin: boolean;
  attribution: AttributionMode;
  /** apiserver auditID of the exec/attach (equal to id: we send Audit-ID). */
  auditId: string;
  /** ISO-8601 */
  startedAt: string;
  endedAt?: string;
  exitCode?: number | null;
  /** Human sentence when state is interrupted/refused. */
  error?: string;
  recordInput: boolean;
  recordingBytes?: number;
  /** hex SHA-256 of the asciicast file as finished */
  recordingSha256?: string;
  commandCount?: number;
  alertCount?: number;
  legalHold?: boolean;
  /** The recorder replica that records (recorded) the session: its --replica-id. */
  replica?: string;
  /** state terminated: the moderator who ended it, and why (cleaned, common/termination.ts). */
  terminatedBy?: string;
  terminationReason?: string;
}

/** POST /api/v1/sessions/{id}/terminate; answered with the ended SessionRecord. */
export interface SessionTerminateRequest {
  reason: string;
}

/** GET /api/v1/sessions?user=&namespace=&pod=&node=&since=&until=&q=&limit=&continue= */
export interface SessionList {
  items: SessionRecord[];
  /** opaque cursor for the next page, absent on the last page */
  continue?: string;
}

/**
 * Which sessions to list, the same on every side: the plugin sends it as the query string of
 * GET /api/v1/sessions, the API parses it back (server/sessions/read.ts), the store answers it a
 * keyset page at a time, and the web UI's filter form is it plus a text search.
 */
export interface SessionQuery {
  user?: string;
  namespace?: string;
  pod?: string;
  node?: string;
  state?: SessionState;
  /** ISO-8601, inclusive */
  since?: string;
  /** ISO-8601, exclusive */
  until?: string;
  /** 1..500, default 50 */
  limit?: number;
  /** opaque cursor from a previous page */
  continue?: string;
}

export type Attribution = 'marker' | 'ancestry' | 'inferred';

/**
 * Why an exec's attribution is `inferred` rather than certain (absent: the server's expected-exec
 * hint, the original meaning). Stable codes; docs/attribution.md says what each one means.
 * - `pid-reuse-undecidable`: the pid came back under another parent and, without fork rules, the log
 *   cannot tell a re-parented process from a new one that reused the pid; the session is kept.
 * - `orphan-ambiguous`: re-parented before its first event, and unclaimed forks of several sessions
 *   could have made it; the latest was taken.
 * - `environ-marker`: the log links it to no session, but its environment (live /proc) carries a
 *   session's marker.
 * - `dropped-from-table`: offline, the process table's bound had dropped it or an ancestor (a log
 *   with more processes than the bound, that one idle the longest); its pid had not been seen anew
 *   since, so the session it had is kept.
 */
export type InferredReason =
  | 'pid-reuse-undecidable'
  | 'orphan-ambiguous'
  | 'environ-marker'
  | 'dropped-from-table';

/** One process exec as the shim attributes it; also the offline mode's output line, exactly these
 *  names (docs/architecture.md "Wire contracts"). */
export interface AttributedExec {
  session: string | null;
  attribution: Attribution | null;
  argv: string[];
  pid: number;
  ppid: number;
  /** ISO-8601 from the audit timestamp */
  time: string;
  /** "<sec.ms>:<serial>" as in msg=audit(...) */
  auditId: string;
  tty: string | null;
  cwd: string | null;
  exe: string | null;
  uid: number | null;
  /** why the shim is unsure, with attribution `inferred` (docs/attribution.md); last, and only then */
  reason?: InferredReason;
}

/** marker-conflict: a process in a session declares another; session-mismatch: an event the recorder
 *  did not store as the session it names (its node or container is not the session's: see
 *  SessionMismatch); unrecorded-tty: a terminal in a
 *  container that no session owns; unrecorded-exec: a process the container runtime exec'd into a
 *  running container (no tty) without a session, and not one of the pod's declared exec probes or
 *  lifecycle hooks (the recorder drops those; the shim cannot tell them apart); marker-forged: an
 *  `env AUDITED_EXEC_SESSION=<id>` that the container runtime did not start (a workload claiming a
 *  session: `declared` is the claimed id, `session` the one its lineage gives, if any). */
export type AlertKind =
  | 'marker-conflict'
  | 'unrecorded-tty'
  | 'unrecorded-exec'
  | 'events-missing'
  | 'marker-forged'
  | 'session-mismatch';

/** session-mismatch: the recorder's reason for not storing an event as the session it names.
 *  `node`: the session runs on another node than the shim that sent it; `container`: the process is
 *  in another container than the session's; `unknown-session`: no session has that id. */
export interface SessionMismatch {
  reason: 'node' | 'container' | 'unknown-session';
  /** what the shim sent: an exec, or an alert of this kind */
  was: 'exec' | AlertKind;
  /** the session's own node and container id, as the recorder knows them */
  sessionNode?: string;
  sessionContainerId?: string;
}

export interface AttributionAlert {
  alert: AlertKind;
  /** the session the process stays in (marker-conflict) or null (unrecorded-tty, unrecorded-exec) */
  session: string | null;
  /** the other session's marker the process declared (marker-conflict, marker-forged) */
  declared?: string;
  pid: number;
  ppid: number;
  argv: string[];
  time: string;
  auditId: string;
  tty: string | null;
  containerId?: string | null;
  /** events-missing: the serials and times the shim could not read (session: null from the shim) */
  missing?: MissingRange;
  /** session-mismatch (made by the recorder, never by the shim): `declared` is the session the event
   *  named, `session` null */
  mismatch?: SessionMismatch;
}

/** What the shim ships to the server: one attributed exec or alert, with its origin. */
export interface ShimEvent {
  seq: number;
  node: string;
  bootId: string;
  auditSerial: number;
  /** audit timestamp "sec.ms" */
  auditTime: string;
  containerId: string | null;
  kind: 'exec' | 'alert';
  exec?: AttributedExec;
  alert?: AttributionAlert;
  /** the raw audit lines of the event, for evidence */
  raw: string[];
}

/** GET /api/v1/sessions/{id}/events: the session's attributed commands and alerts, a page at a time. */
export interface SessionEventList {
  /** afterEnd: the command (or alert) happened after the session had ended — a process that
   *  outlived the shell */
  items: (Omit<ShimEvent, 'seq'> & { afterEnd?: true })[];
  /** present when more events follow: pass as `continue` for the next page */
  continue?: string;
  /** present when a moderator ended the session: who, why, and when (its endedAt) */
  termination?: { by: string; reason: string; at: string };
}

/** server → shim: tells the shim an exec without the env marker is about to start (image has no env). */
export interface InferredExecHint {
  type: 'expect-exec';
  session: string;
  containerId: string;
  /** ISO-8601; the shim accepts a new child of the runtime in that container within a few seconds */
  time: string;
}
