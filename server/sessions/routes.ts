// Registers the session API on the router.
import type { Router } from '../http/router.ts';
import { createSessionHandler } from './create.ts';
import { readRoutes } from './read.ts';
import type { SessionServices } from './services.ts';
import { streamHandler } from './stream.ts';

export function registerSessionRoutes(router: Router, services: SessionServices): void {
  const read = readRoutes(services);
  router
    .post('/api/v1/sessions', createSessionHandler(services))
    .get('/api/v1/sessions', read.list)
    .get('/api/v1/sessions/:id', read.get)
    .get('/api/v1/sessions/:id/recording', read.recording)
    .upgrade('/api/v1/sessions/:id/stream', streamHandler(services));
}
