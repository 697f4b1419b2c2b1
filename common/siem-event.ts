// The one schema of events pushed to a SIEM (audited-exec.event/v1; docs/siem.md is its prose).
// Field names follow the Elastic Common Schema (ECS 8) where ECS has one; what ECS has no field for
// lives under `audited_exec.*` (ECS's rule for custom fields). Pure: records in, events out.
// An event's `id` is derived from what it is about (the session id, the audit identity, the
// admission request's uid), never from when or where it was made, so the same event sent again after
// a restart, a resend or a second replica has the same id: receivers de-duplicate on it.
import { createHash } from 'node:crypto';
import type { AttributionAlert, SessionRecord, ShimEvent } from './wire.ts';

export const SIEM_SCHEMA = 'audited-exec.event/v1';

export type SiemEventType = 'session.started' | 'session.ended' | 'command' | 'alert' | 'break-glass';

/** One exported event. Absent values are left out, never sent as null (except exit_code). */
export interface SiemEvent {
  schema: typeof SIEM_SCHEMA;
  /** 32 hex digits, stable per event (see above) */
  id: string;
  type: SiemEventType;
  /** ISO-8601: when it happened (session start/end, the audit timestamp, the admission) */
  '@timestamp': string;
  event: {
    /** ECS: `event` for sessions and commands, `alert` for alerts and break-glass uses */
    kind: 'event' | 'alert';
    category: ('session' | 'process' | 'intrusion_detection' | 'iam')[];
    type: ('start' | 'end' | 'info' | 'allowed' | 'indicator')[];
    /** ECS event.action: session-started, session-ended, process-exec, the alert kind, break-glass */
    action: string;
    /** the same as the top-level id (ECS's field for it) */
    id: string;
    outcome?: 'success' | 'failure' | 'unknown';
    dataset:
      | 'audited_exec.session'
      | 'audited_exec.command'
      | 'audited_exec.alert'
      | 'audited_exec.admission';
    module: 'audited_exec';
  };
  user?: { name: string; id?: string; group?: { name: string[] } };
  process?: {
    pid: number;
    parent: { pid: number };
    args: string[];
    executable?: string;
    working_directory?: string;
    user?: { id: string };
    tty?: { name: string };
  };
  /** the node */
  host?: { name: string };
  container?: { id: string };
  orchestrator?: {
    type: 'kubernetes';
    namespace?: string;
    resource?: { type: 'pod'; name: string };
  };
  /** the recorder replica that exported it */
  observer: { product: 'audited-exec'; vendor: 'audited-exec'; name: string };
  audited_exec: {
    /** the session the event belongs to; absent for activity outside any session */
    session_id?: string;
    session?: SiemSessionFields;
    command?: { attribution: string | null; audit_id: string; inferred_reason?: string };
    alert?: {
      kind: AttributionAlert['alert'];
      declared_session?: string;
      mismatch?: string;
      audit_id: string;
    };
    break_glass?: { action: string; resource: string; admission_uid: string };
  };
}

export interface SiemSessionFields {
  kind: SessionRecord['kind'];
  state: SessionRecord['state'];
  command: string[];
  reason?: string;
  ticket?: string;
  node?: string;
  started_at: string;
  ended_at?: string;
  exit_code?: number | null;
  error?: string;
  recording_sha256?: string;
  command_count?: number;
  alert_count?: number;
  /** state terminated: the moderator who ended it, and why */
  terminated_by?: string;
  termination_reason?: string;
}

/** An exec or attach the admission webhook let through because the user is in a break-glass group. */
export interface BreakGlassUse {
  /** the AdmissionReview request's uid: one per admission, the same if the apiserver asks again */
  uid: string;
  user: string;
  groups: string[];
  /** pods/exec, pods/attach, pods/ephemeralcontainers, pods/create */
  action: string;
  namespace?: string;
  name?: string;
  /** ISO-8601, when the recorder answered */
  time: string;
}

/** 32 hex digits of SHA-256 over the event's natural key. */
export function siemEventId(key: readonly (string | number)[]): string {
  return createHash('sha256').update(key.join('\u0000')).digest('hex').slice(0, 32);
}

function base(
  type: SiemEventType,
  id: string,
  time: string,
  event: Omit<SiemEvent['event'], 'id' | 'module'>,
  replica: string,
): Pick<SiemEvent, 'schema' | 'id' | 'type' | '@timestamp' | 'event' | 'observer'> {
  return {
    schema: SIEM_SCHEMA,
    id,
    type,
    '@timestamp': time,
    event: { ...event, id, module: 'audited_exec' },
    observer: { product: 'audited-exec', vendor: 'audited-exec', name: replica },
  };
}

function sessionContext(s: SessionRecord): Pick<SiemEvent, 'user' | 'host' | 'container' | 'orchestrator'> {
  return {
    user: { name: s.user, ...(s.uid ? { id: s.uid } : {}), group: { name: s.groups } },
    ...(s.node ? { host: { name: s.node } } : {}),
    ...(s.containerId ? { container: { id: s.containerId } } : {}),
    orchestrator: {
      type: 'kubernetes',
      ...(s.namespace ? { namespace: s.namespace } : {}),
      ...(s.pod ? { resource: { type: 'pod' as const, name: s.pod } } : {}),
    },
  };
}

function sessionFields(s: SessionRecord): SiemSessionFields {
  return dropUndefined({
    kind: s.kind,
    state: s.state,
    command: s.command,
    reason: s.reason,
    ticket: s.ticket,
    node: s.node,
    started_at: s.startedAt,
    ended_at: s.endedAt,
    exit_code: s.state === 'ended' ? (s.exitCode ?? null) : undefined,
    error: s.error,
    recording_sha256: s.recordingSha256,
    command_count: s.commandCount,
    alert_count: s.alertCount,
    terminated_by: s.terminatedBy,
    termination_reason: s.terminationReason,
  });
}

/** A session's stream was claimed: it runs. */
export function sessionStartedEvent(s: SessionRecord, replica: string): SiemEvent {
  const id = siemEventId(['session.started', s.id]);
  return {
    ...base(
      'session.started',
      id,
      s.startedAt,
      {
        kind: 'event',
        category: ['session'],
        type: ['start'],
        action: 'session-started',
        dataset: 'audited_exec.session',
      },
      replica,
    ),
    ...sessionContext(s),
    audited_exec: { session_id: s.id, session: sessionFields(s) },
  };
}

/** A started session's final state is stored. */
export function sessionEndedEvent(s: SessionRecord, replica: string): SiemEvent {
  const id = siemEventId(['session.ended', s.id]);
  const outcome = s.state === 'ended' && (s.exitCode ?? 0) === 0 ? 'success' : 'failure';
  return {
    ...base(
      'session.ended',
      id,
      s.endedAt ?? s.startedAt,
      {
        kind: 'event',
        category: ['session'],
        type: ['end'],
        action: 'session-ended',
        outcome,
        dataset: 'audited_exec.session',
      },
      replica,
    ),
    ...sessionContext(s),
    audited_exec: { session_id: s.id, session: sessionFields(s) },
  };
}

/** An attributed command or an alert from a node's shim, as the recorder stored it. `session` is the
 *  session it names: its user and pod are added where the process is that session's (who ran it,
 *  without a join in the SIEM), never to an alert about a process that only claims it. */
export function shimEventToSiem(e: ShimEvent, replica: string, session?: SessionRecord): SiemEvent | null {
  const key = [e.kind, e.alert?.alert ?? 'exec', e.node, e.bootId, e.auditSerial, e.auditTime];
  const id = siemEventId(key);
  const own =
    e.kind === 'exec' ? e.exec?.session : e.alert?.alert === 'marker-conflict' ? e.alert.session : null;
  const where = {
    ...(session && own === session.id ? sessionContext(session) : {}),
    host: { name: e.node },
    ...(e.containerId ? { container: { id: e.containerId } } : {}),
  };
  if (e.kind === 'exec' && e.exec) {
    const x = e.exec;
    return {
      ...base(
        'command',
        id,
        x.time,
        {
          kind: 'event',
          category: ['process'],
          type: ['start'],
          action: 'process-exec',
          dataset: 'audited_exec.command',
        },
        replica,
      ),
      ...where,
      process: processFields(x),
      audited_exec: dropUndefined({
        session_id: x.session ?? undefined,
        command: dropUndefined({
          attribution: x.attribution,
          audit_id: x.auditId,
          inferred_reason: x.reason,
        }),
      }),
    };
  }
  if (e.kind === 'alert' && e.alert) {
    const a = e.alert;
    return {
      ...base(
        'alert',
        id,
        a.time,
        {
          kind: 'alert',
          category: ['intrusion_detection', 'process'],
          type: ['indicator'],
          action: a.alert,
          dataset: 'audited_exec.alert',
        },
        replica,
      ),
      ...where,
      process: processFields(a),
      audited_exec: dropUndefined({
        session_id: a.session ?? a.declared ?? undefined,
        alert: dropUndefined({
          kind: a.alert,
          declared_session: a.declared,
          mismatch: a.mismatch?.reason,
          audit_id: a.auditId,
        }),
      }),
    };
  }
  return null;
}

function processFields(x: {
  pid: number;
  ppid: number;
  argv: string[];
  exe?: string | null;
  cwd?: string | null;
  uid?: number | null;
  tty: string | null;
}): NonNullable<SiemEvent['process']> {
  return {
    pid: x.pid,
    parent: { pid: x.ppid },
    args: x.argv,
    ...(x.exe ? { executable: x.exe } : {}),
    ...(x.cwd ? { working_directory: x.cwd } : {}),
    ...(x.uid !== undefined && x.uid !== null ? { user: { id: String(x.uid) } } : {}),
    ...(x.tty ? { tty: { name: x.tty } } : {}),
  };
}

/** A break-glass group member's exec or attach that bypassed the recorder. */
export function breakGlassEvent(u: BreakGlassUse, replica: string): SiemEvent {
  const id = siemEventId(['break-glass', u.uid]);
  const resource = `${u.namespace ?? ''}/${u.name ?? ''}`;
  return {
    ...base(
      'break-glass',
      id,
      u.time,
      {
        kind: 'alert',
        category: ['iam'],
        type: ['allowed'],
        action: 'break-glass',
        outcome: 'success',
        dataset: 'audited_exec.admission',
      },
      replica,
    ),
    user: { name: u.user, group: { name: u.groups } },
    orchestrator: {
      type: 'kubernetes',
      ...(u.namespace ? { namespace: u.namespace } : {}),
      ...(u.name ? { resource: { type: 'pod' as const, name: u.name } } : {}),
    },
    audited_exec: { break_glass: { action: u.action, resource, admission_uid: u.uid } },
  };
}

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
