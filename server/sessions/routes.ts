// Registers the session API on the router; returns the lifecycle, whose timer and start-up
// recovery the recorder runs (app.ts), and the terminate action the web UI's form shares.
import type { Router } from '../http/router.ts';
import { createSessionHandler } from './create.ts';
import { sessionDrivers } from './drivers/index.ts';
import { SessionLifecycle } from './lifecycle.ts';
import { readRoutes } from './read.ts';
import type { SessionServices } from './services.ts';
import { streamHandler } from './stream.ts';
import { type SessionTerminator, sessionTerminator, terminateHandler } from './terminate.ts';

export function registerSessionRoutes(
  router: Router,
  services: SessionServices,
): { lifecycle: SessionLifecycle; terminate: SessionTerminator } {
  const lifecycle = new SessionLifecycle(services, sessionDrivers(services));
  const read = readRoutes(services);
  const terminate = sessionTerminator({
    store: services.store,
    access: services.access,
    lifecycle,
    ...(services.replica ? { replica: services.replica } : {}),
  });
  router
    .post('/api/v1/sessions', createSessionHandler(services, lifecycle))
    .get('/api/v1/sessions', read.list)
    .get('/api/v1/sessions/:id', read.get)
    .get('/api/v1/sessions/:id/recording', read.recording)
    .post('/api/v1/sessions/:id/terminate', terminateHandler(terminate))
    .upgrade('/api/v1/sessions/:id/stream', streamHandler(lifecycle));
  return { lifecycle, terminate };
}
