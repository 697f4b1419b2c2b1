// What every /ui handler is given: the UI's dependencies and settings, the web sessions, the one
// session-access service, and the viewer resolver. Apart from routes.ts, which builds it, so the
// route files (login-routes.ts, session-routes.ts, session-files.ts) need not import each other.
import type { IncomingMessage } from 'node:http';
import type { SessionAccess } from '../auth/session-access.ts';
import type { SignInLinks } from '../auth/sign-in-links.ts';
import type { WebSessions } from '../auth/web-session.ts';
import type { RequestContext } from '../http/router.ts';
import type { UiConfig, UiDeps, UiEventSource } from './deps.ts';
import type { ResolvedViewer } from './viewer.ts';

export interface UiContext {
  deps: UiDeps;
  config: UiConfig;
  sessions: WebSessions;
  /** one-time sign-in links made by whoever runs this recorder (the local demo) */
  links: SignInLinks;
  access: SessionAccess;
  events: UiEventSource | undefined;
  /** who is asking, by the same rules as every page (a long stream asks again while it runs) */
  viewer(req: IncomingMessage): Promise<ResolvedViewer | null>;
}

export type ViewerHandler = (ctx: RequestContext, viewer: ResolvedViewer, ui: UiContext) => Promise<unknown>;
