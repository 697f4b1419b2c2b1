// GET /api/v1/sessions/{id}/events: the session's attributed execs and alerts, in audit order, each
// with its audit identity (node, bootId, auditSerial, auditTime) and raw audit lines.
// Readable by whoever may read the session itself (server/sessions/read.ts): its own user, or
// `get` on sessions.audited-exec.io (namespaced by the session's namespace).
import type { SessionRecord, ShimEvent } from '../../common/wire.ts';
import type { UserInfo } from '../auth/user.ts';
import { HttpError, sendJson } from '../http/respond.ts';
import type { Router } from '../http/router.ts';
import type { SessionServices } from '../sessions/services.ts';
import { requireSessionId } from '../sessions/validate.ts';
import type { EventStore } from './store.ts';

/** The answer of GET /api/v1/sessions/{id}/events. */
export interface SessionEventList {
  items: Omit<ShimEvent, 'seq'>[];
}

// The same rule as read.ts's mayRead, which that module does not export.
async function mayRead(services: SessionServices, user: UserInfo, s: SessionRecord): Promise<boolean> {
  return (
    s.user === user.username ||
    services.access.allowed(user, {
      verb: 'get',
      resource: 'sessions',
      ...(s.kind === 'exec' && s.namespace ? { namespace: s.namespace } : {}),
      name: s.id,
    })
  );
}

export function registerEventRoutes(
  router: Router,
  options: { services: Pick<SessionServices, 'store' | 'access'>; events: EventStore },
): void {
  const { events } = options;
  const services = options.services as SessionServices;
  router.get('/api/v1/sessions/:id/events', async (ctx) => {
    const id = requireSessionId(ctx.params.id);
    const session = await services.store.getSession(id);
    if (!session) throw new HttpError(404, 'SESSION_NOT_FOUND', `session ${id} not found`);
    if (!(await mayRead(services, ctx.user!, session))) {
      throw new HttpError(
        403,
        'SESSION_FORBIDDEN',
        `${ctx.user!.username} may not read session ${id}: it needs get on sessions.audited-exec.io`,
      );
    }
    const items = (await events.listEvents(id)).map(({ seq: _seq, ...e }) => e);
    const body: SessionEventList = { items };
    sendJson(ctx.res, 200, body);
  });
}
