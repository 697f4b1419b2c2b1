// GET /ui/login/link/CODE: a one-time sign-in link (auth/sign-in-links.ts) opened in a browser.
import { SIGN_IN_LINK_PATH } from '../auth/sign-in-links.ts';
import type { RequestContext, Router } from '../http/router.ts';
import type { UiContext } from './context.ts';
import { serializeCookie } from './cookies.ts';
import { showLogin } from './login-routes.ts';
import { redirect, safeNext } from './respond.ts';
import { reviewToken, SESSION_COOKIE } from './viewer.ts';

export function signInLinkRoutes(router: Router, ui: UiContext): void {
  router.get(`${SIGN_IN_LINK_PATH}:code`, (ctx) => openLink(ctx, ui), { auth: false });
}

async function openLink(ctx: RequestContext, ui: UiContext): Promise<void> {
  const link = ui.links.take(ctx.params.code ?? '');
  if (!link) {
    return showLogin(
      ctx,
      ui,
      410,
      '/ui/sessions',
      'This sign-in link was used already or has expired. Sign in with a token.',
    );
  }
  let user: Awaited<ReturnType<typeof reviewToken>>;
  try {
    user = await reviewToken(ui.deps.authenticator, ctx.req, link.token);
  } catch {
    return showLogin(
      ctx,
      ui,
      503,
      '/ui/sessions',
      'The cluster could not be asked about this sign-in link; try again.',
    );
  }
  if (!user)
    return showLogin(
      ctx,
      ui,
      401,
      '/ui/sessions',
      'The cluster no longer accepts the token behind this link.',
    );
  const { id } = await ui.sessions.create({ ...user }, link.token);
  redirect(ctx.res, safeNext(link.next), {
    'Set-Cookie': serializeCookie(SESSION_COOKIE, id, { maxAge: ui.sessions.cookieMaxAge() }),
  });
}
