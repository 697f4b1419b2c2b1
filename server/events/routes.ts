// GET /api/v1/sessions/{id}/events: the session's attributed execs and alerts, in audit order, each
// with its audit identity (node, bootId, auditSerial, auditTime) and raw audit lines. Paged with
// `limit` (default 500) and `continue` (keyset on the store's order, paging.ts).
// Readable by whoever may read the session itself: requireViewableSession
// (server/auth/session-access.ts), shared with GET /api/v1/sessions/{id} and the web UI.
import { afterSessionEnd } from '../../common/after-end.ts';
import type { SessionEventList } from '../../common/wire.ts';
import { requireViewableSession } from '../auth/session-access.ts';
import { sendJson } from '../http/respond.ts';
import type { Router } from '../http/router.ts';
import type { SessionServices } from '../sessions/services.ts';
import { pageEvents, parseEventPage } from './paging.ts';
import type { EventStore } from './store.ts';

export function registerEventRoutes(
  router: Router,
  options: { services: Pick<SessionServices, 'store' | 'access'>; events: EventStore },
): void {
  const { events, services } = options;
  const viewable = { access: services.access, sessions: services.store };
  router.get('/api/v1/sessions/:id/events', async (ctx) => {
    const page = parseEventPage(ctx.url.searchParams);
    const session = await requireViewableSession(viewable, ctx.user!, ctx.params.id);
    const { id } = session;
    // The event store answers a whole session; the page is cut here (see paging.ts).
    const { items, continue: next } = pageEvents(await events.listEvents(id), page);
    const body: SessionEventList = {
      items: items.map(({ seq: _seq, ...e }) => {
        const time = e.exec?.time ?? e.alert?.time;
        return time && afterSessionEnd(session, time) ? { ...e, afterEnd: true } : e;
      }),
      ...(next ? { continue: next } : {}),
      // The end of a terminated session is part of what happened in it (on every page).
      ...(session.terminatedBy && session.endedAt
        ? {
            termination: {
              by: session.terminatedBy,
              reason: session.terminationReason ?? '',
              at: session.endedAt,
            },
          }
        : {}),
    };
    sendJson(ctx.res, 200, body);
  });
}
