// One call that gives a recorder shim ingestion: the events tables in its database, the shim
// WebSocket, GET /api/v1/sessions/{id}/events, and its subscription to the session events. app.ts calls it once;
// tests call it on a recorder from test/support/recorder.ts.
import { registerEventRoutes } from '../events/routes.ts';
import type { EventStore } from '../events/store.ts';
import type { Router } from '../http/router.ts';
import type { SessionServices } from '../sessions/services.ts';
import type { RecorderStore } from '../store/store.ts';
import { registerShimIngest, type ShimIngest, type ShimIngestOptions } from './ingest.ts';

export interface ShimAttachment {
  events: EventStore;
  ingest: ShimIngest;
}

export function attachShim(
  recorder: { router: Router; store: RecorderStore; services: SessionServices },
  options: Omit<ShimIngestOptions, 'kube' | 'store' | 'events' | 'sessions'> = {},
): ShimAttachment {
  const { router, store, services } = recorder;
  const { events } = store;
  registerEventRoutes(router, { services, events });
  const ingest = registerShimIngest(router, {
    ...options,
    kube: services.kube,
    store,
    events,
    sessions: services.events,
  });
  return { events, ingest };
}
