// registerUi: the web UI's routes on the server's router. UI routes authenticate themselves
// (cookie session, trusted proxy, or the server's authenticator), so they register with auth:false
// and an unauthenticated browser is sent to the sign-in page instead of receiving a 401.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SignInLinks } from '../auth/sign-in-links.ts';
import { WebSessions } from '../auth/web-session.ts';
import { codedStatus, sendJson } from '../http/respond.ts';
import type { RequestContext, Router } from '../http/router.ts';
import type { UiContext, ViewerHandler } from './context.ts';
import { UI_DEFAULTS, type UiConfig, type UiDeps } from './deps.ts';
import { eventsFromStore, hasShimEvents } from './events-source.ts';
import { loginRoutes } from './login-routes.ts';
import { oidcRoutes } from './oidc-routes.ts';
import { redirect, sendProblem, wantsJson } from './respond.ts';
import { SECURITY_HEADERS } from './security.ts';
import { sessionRoutes } from './session-routes.ts';
import { signInLinkRoutes } from './sign-in-link-routes.ts';
import { StaticAssets } from './static.ts';
import { resolveViewer } from './viewer.ts';

/** Registers every /ui route (and / → /ui/sessions). Returns the pieces tests and the server may reuse. */
export async function registerUi(router: Router, deps: UiDeps): Promise<UiContext> {
  const config: UiConfig = { ...UI_DEFAULTS, ...deps.config };
  const ui: UiContext = {
    deps,
    config,
    sessions: new WebSessions(config.webSessions),
    links: new SignInLinks(),
    access: deps.access,
    events: deps.events ?? (hasShimEvents(deps.store) ? eventsFromStore(deps.store) : undefined),
    viewer: (req) =>
      resolveViewer(req, {
        sessions: ui.sessions,
        authenticator: deps.authenticator,
        ...(config.trustedProxy ? { trustedProxy: config.trustedProxy } : {}),
      }),
  };
  const assets = await StaticAssets.load();

  const signedIn =
    (handler: ViewerHandler) =>
    async (ctx: RequestContext): Promise<void> => {
      const viewer = await ui.viewer(ctx.req);
      if (!viewer) return unauthenticated(ctx.req, ctx.res, ctx.url);
      await handler(ctx, viewer, ui);
    };

  router.get('/', ({ res }) => redirect(res, '/ui/sessions'), { auth: false });
  router.get('/ui', ({ res }) => redirect(res, '/ui/sessions'), { auth: false });
  router.get(
    '/ui/static/:name',
    ({ req, res, params }) => {
      if (!assets.serve(params.name ?? '', req, res)) sendProblem(req, res, 404, 'no such file');
    },
    { auth: false },
  );
  loginRoutes(router, ui);
  signInLinkRoutes(router, ui);
  if (deps.oidc) oidcRoutes(router, ui, deps.oidc);
  sessionRoutes(router, signedIn);
  return ui;
}

function unauthenticated(req: IncomingMessage, res: ServerResponse, url: URL): void {
  if (wantsJson(req) || url.pathname.endsWith('/live') || url.pathname.endsWith('.cast')) {
    sendJson(
      res,
      401,
      codedStatus(401, 'UNAUTHENTICATED', 'sign in first: /ui/login, or send a bearer token'),
      {
        ...SECURITY_HEADERS,
      },
    );
    return;
  }
  redirect(res, `/ui/login?next=${encodeURIComponent(url.pathname + url.search)}`);
}
