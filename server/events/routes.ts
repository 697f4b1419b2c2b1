// GET /api/v1/sessions/{id}/events: the session's attributed execs and alerts, in audit order, each
// with its audit identity (node, bootId, auditSerial, auditTime) and raw audit lines. Paged with
// `limit` (default 500) and `continue` (keyset on the store's order, paging.ts).
// Readable by whoever may read the session itself: the one rule in server/ui/access.ts
// (SessionAccess.canView), shared with GET /api/v1/sessions/{id} and the web UI.
import type { ShimEvent } from '../../common/wire.ts';
import { HttpError, sendJson } from '../http/respond.ts';
import type { Router } from '../http/router.ts';
import type { SessionServices } from '../sessions/services.ts';
import { requireSessionId } from '../sessions/validate.ts';
import { SessionAccess } from '../ui/access.ts';
import { pageEvents, parseEventPage } from './paging.ts';
import type { EventStore } from './store.ts';

/** The answer of GET /api/v1/sessions/{id}/events. */
export interface SessionEventList {
  items: Omit<ShimEvent, 'seq'>[];
  /** present when more events follow: pass as `continue` for the next page */
  continue?: string;
}

export function registerEventRoutes(
  router: Router,
  options: { services: Pick<SessionServices, 'store' | 'access'>; events: EventStore },
): void {
  const { events, services } = options;
  const access = new SessionAccess({ reviewer: services.access });
  router.get('/api/v1/sessions/:id/events', async (ctx) => {
    const id = requireSessionId(ctx.params.id);
    const page = parseEventPage(ctx.url.searchParams);
    const session = await services.store.getSession(id);
    if (!session) throw new HttpError(404, 'SESSION_NOT_FOUND', `session ${id} not found`);
    if (!(await access.canView(ctx.user!, session))) {
      throw new HttpError(
        403,
        'SESSION_FORBIDDEN',
        `${ctx.user!.username} may not read session ${id}: it needs get on sessions.audited-exec.io`,
      );
    }
    // The event store answers a whole session; the page is cut here (see paging.ts).
    const { items, continue: next } = pageEvents(await events.listEvents(id), page);
    const body: SessionEventList = {
      items: items.map(({ seq: _seq, ...e }) => e),
      ...(next ? { continue: next } : {}),
    };
    sendJson(ctx.res, 200, body);
  });
}
