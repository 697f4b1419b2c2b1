// Whether a shim event may be stored as the session it names. A shim is trusted for its own node
// (auth.ts), but the session id in an event is what a process on that node claimed (a marker, an
// ancestry), so the claim is checked against what the recorder knows of the session: its node and
// its container (exec sessions: the pod's container the exec went to; node-debug sessions: the debug
// pod's container). An event that fails is kept as a `session-mismatch` alert under the session it
// named, never as one of its commands. Pure: the session and the container's pod are passed in.
//
// Unknowns, and what is done with them:
// - the session's container id is not known yet (the pod's status had none at create; a node-debug
//   pod whose entry ran and exited before the recorder saw it start, and which may be deleted by the
//   time its events arrive): a container the node's pod list places in another pod or under another
//   name is a mismatch; one the list cannot name (just started, or already gone) is accepted, since
//   nothing known contradicts it and the session id is secret until the session's own processes run.
// - the session's container id is known and the event's differs: accepted only when the pod list
//   places it in the session's pod under the session's container name (a restarted container).
// - the event's container id is null (the shim could not read the process's cgroup, e.g. it had
//   exited): accepted when the node matches. Every process of a pod is in a container's cgroup; only
//   a process outside all containers has none, and that needs root on the node, which already holds
//   the shim and its token.
import type { SessionMismatch, SessionRecord, ShimEvent } from '../../common/wire.ts';
import type { ContainerRef } from './pods.ts';

export type SessionFacts = Pick<SessionRecord, 'node' | 'containerId' | 'namespace' | 'pod' | 'container'>;

/** The session an event would be stored as its own: an exec's, or the session a marker-conflict
 *  (and the like) stays in. Claims that are alerts already (marker-forged, session-mismatch) are
 *  not checked: they never become a session's commands. */
export function claimedSession(e: ShimEvent): string | null {
  if (e.kind === 'exec') return e.exec?.session ?? null;
  const kind = e.alert?.alert;
  if (kind === 'marker-forged' || kind === 'session-mismatch') return null;
  return e.alert?.session ?? null;
}

/** Why the event may not be stored as session `s` (undefined: no such session), or null. */
export function sessionMismatch(
  e: Pick<ShimEvent, 'node' | 'containerId'>,
  s: SessionFacts | undefined,
  containerOf: (containerId: string) => ContainerRef | null,
): SessionMismatch['reason'] | null {
  if (!s) return 'unknown-session';
  if (s.node !== undefined && s.node !== e.node) return 'node';
  if (e.containerId === null) return null;
  if (s.containerId !== undefined && e.containerId === s.containerId) return null;
  const where = containerOf(e.containerId);
  if (where === null) return s.containerId === undefined ? null : 'container';
  const samePod = where.namespace === s.namespace && where.pod === s.pod;
  return samePod && (s.container === undefined || where.container === s.container) ? null : 'container';
}

/** The event as a session-mismatch alert: same audit identity and raw lines, the process's argv,
 *  `declared` the session it named. */
export function asMismatchAlert(
  e: ShimEvent,
  declared: string,
  s: SessionFacts | undefined,
  reason: SessionMismatch['reason'],
): ShimEvent {
  const item = (e.exec ?? e.alert)!;
  const mismatch: SessionMismatch = {
    reason,
    was: e.kind === 'exec' ? 'exec' : e.alert!.alert,
    ...(s?.node !== undefined ? { sessionNode: s.node } : {}),
    ...(s?.containerId !== undefined ? { sessionContainerId: s.containerId } : {}),
  };
  const { exec: _exec, alert: _alert, ...origin } = e;
  return {
    ...origin,
    kind: 'alert',
    alert: {
      alert: 'session-mismatch',
      session: null,
      declared,
      pid: item.pid,
      ppid: item.ppid,
      argv: item.argv,
      time: item.time,
      auditId: item.auditId,
      tty: item.tty,
      containerId: e.containerId,
      mismatch,
    },
  };
}
