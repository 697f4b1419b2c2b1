// Registers the session API on the router; returns the lifecycle, whose timer and start-up
// recovery the recorder runs (app.ts).
import type { Router } from '../http/router.ts';
import { createSessionHandler } from './create.ts';
import { sessionDrivers } from './drivers/index.ts';
import { SessionLifecycle } from './lifecycle.ts';
import { readRoutes } from './read.ts';
import type { SessionServices } from './services.ts';
import { streamHandler } from './stream.ts';
import { terminateHandler } from './terminate.ts';

export function registerSessionRoutes(router: Router, services: SessionServices): SessionLifecycle {
  const lifecycle = new SessionLifecycle(services, sessionDrivers(services));
  const read = readRoutes(services);
  router
    .post('/api/v1/sessions', createSessionHandler(services, lifecycle))
    .get('/api/v1/sessions', read.list)
    .get('/api/v1/sessions/:id', read.get)
    .get('/api/v1/sessions/:id/recording', read.recording)
    .post(
      '/api/v1/sessions/:id/terminate',
      terminateHandler({
        store: services.store,
        access: services.access,
        lifecycle,
        ...(services.replica ? { replica: services.replica } : {}),
      }),
    )
    .upgrade('/api/v1/sessions/:id/stream', streamHandler(lifecycle));
  return lifecycle;
}
