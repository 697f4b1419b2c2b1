// POST /api/v1/sessions/{id}/terminate {"reason": "…"}: a moderator ends someone's running session.
// The action is written once here (the API and the web UI's Terminate button both call
// terminateSession): the session must exist, the caller needs `terminate` on
// sessions.audited-exec.io (SubjectAccessReview, asked on every request), the session must be
// running, and the replica that records it ends it (a request reaching another replica is forwarded
// there first: replicas/forward.ts). The answer is the session as stored once it ended.
import { AuditedExecError } from '../../common/errors.ts';
import { isSessionId } from '../../common/session-marker.ts';
import { checkReason } from '../../common/termination.ts';
import type { SessionRecord } from '../../common/wire.ts';
import type { SessionAccess } from '../auth/session-access.ts';
import type { UserInfo } from '../auth/user.ts';
import { readJson, sendJson } from '../http/respond.ts';
import type { RequestContext } from '../http/router.ts';
import type { Store } from '../store/store.ts';
import type { SessionLifecycle } from './lifecycle.ts';

export interface TerminateDeps {
  store: Pick<Store, 'getSession'>;
  access: Pick<SessionAccess, 'mayTerminate'>;
  lifecycle: Pick<SessionLifecycle, 'terminate'>;
  /** This replica's id: a running session recorded elsewhere is that replica's to end. */
  replica?: string;
}

/** The reason from a request body, cleaned, or SESSION_TERMINATE_INVALID with what to send. */
export function terminateReason(body: unknown): string {
  const checked = checkReason((body as { reason?: unknown } | null)?.reason);
  if ('problem' in checked) {
    throw new AuditedExecError('SESSION_TERMINATE_INVALID', `${checked.problem}; send {"reason": "…"}`);
  }
  return checked.reason;
}

/** The refusal when `user` may not end session `id`: what is missing and where it comes from. */
export function terminateForbidden(user: string, id: string): AuditedExecError {
  return new AuditedExecError(
    'SESSION_TERMINATE_FORBIDDEN',
    `${user} may not terminate session ${id}: it needs terminate on sessions.audited-exec.io ` +
      '(ClusterRole audited-exec:session-moderator)',
  );
}

/** May `user` end this session (for showing the button; terminateSession asks again)? */
export async function mayTerminate(d: Pick<TerminateDeps, 'access'>, user: UserInfo, s: SessionRecord) {
  return s.state === 'running' && (await d.access.mayTerminate(user, s));
}

/** Ends session `id` as `user` with `reason` (already cleaned); resolves with the ended record. */
export async function terminateSession(
  d: TerminateDeps,
  o: { user: UserInfo; id: string | undefined; reason: string },
): Promise<SessionRecord> {
  const { id, user } = o;
  if (id === undefined || !isSessionId(id)) {
    throw new AuditedExecError('SESSION_BAD_ID', 'no such session: session ids are lower-case UUIDs');
  }
  const session = await d.store.getSession(id);
  if (!session) throw new AuditedExecError('SESSION_NOT_FOUND', `session ${id} not found`);
  if (!(await d.access.mayTerminate(user, session))) throw terminateForbidden(user.username, id);
  if (session.state !== 'running') throw notRunning(session);
  const ended = await d.lifecycle.terminate(session, { by: user.username, reason: o.reason });
  if (ended) return ended;
  // Not live here: it ended meanwhile, or its replica (not this one) did not take the request.
  const now = (await d.store.getSession(id)) ?? session;
  if (now.state !== 'running') throw notRunning(now);
  if (now.replica && now.replica !== d.replica) {
    throw new AuditedExecError(
      'REPLICA_UNREACHABLE',
      `session ${id} is recorded by replica ${now.replica}, which did not take the request; try again`,
    );
  }
  throw new AuditedExecError(
    'SESSION_NOT_RUNNING',
    `session ${id} is not relaying on this replica (it is starting or ending); try again`,
  );
}

function notRunning(s: Pick<SessionRecord, 'id' | 'state'>): AuditedExecError {
  return new AuditedExecError(
    'SESSION_NOT_RUNNING',
    `session ${s.id} is ${s.state}: only a running session can be terminated`,
  );
}

/** terminateSession with its dependencies bound: what the web UI's Terminate form calls. */
export type SessionTerminator = (o: {
  user: UserInfo;
  id: string | undefined;
  reason: string;
}) => Promise<SessionRecord>;

export function sessionTerminator(d: TerminateDeps): SessionTerminator {
  return (o) => terminateSession(d, o);
}

export function terminateHandler(terminate: SessionTerminator) {
  return async (ctx: RequestContext): Promise<void> => {
    const reason = terminateReason(await readJson(ctx.req, 16 * 1024));
    sendJson(ctx.res, 200, await terminate({ user: ctx.user!, id: ctx.params.id, reason }));
  };
}
