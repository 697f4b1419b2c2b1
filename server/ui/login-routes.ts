// Sign-in and sign-out. Both are POSTs protected three ways: SameSite=Strict cookies, an Origin
// check, and a CSRF token (sign-in: double-submit cookie, since there is no session yet;
// sign-out: the session's own token).
import type { IncomingMessage } from 'node:http';
import { errorMessage } from '../../common/errors.ts';
import { randomToken } from '../auth/web-session.ts';
import type { RequestContext, Router } from '../http/router.ts';
import type { UiContext } from './context.ts';
import { parseCookies, serializeCookie } from './cookies.ts';
import { layout } from './pages/layout.ts';
import { continuePage, loginPage } from './pages/login.ts';
import { readForm, redirect, safeNext, sendHtml, sendProblem } from './respond.ts';
import { requestOrigin, sameOrigin, sameToken } from './security.ts';
import { SignInLimit } from './sign-in-limit.ts';
import { LOGIN_COOKIE, reviewToken, SESSION_COOKIE } from './viewer.ts';

const LOGIN_COOKIE_SECONDS = 3600;

/** The origins a form may be posted from: configured public URLs and the Host we were asked as. */
export function allowedOrigins(req: IncomingMessage, configured: readonly string[]): string[] {
  const own = requestOrigin(req.headers.host, true);
  return [...configured.map((o) => o.toLowerCase().replace(/\/+$/, '')), ...(own ? [own] : [])];
}

export function originOk(req: IncomingMessage, configured: readonly string[]): boolean {
  const h = req.headers;
  return sameOrigin({
    origin: h.origin,
    referer: h.referer,
    secFetchSite: h['sec-fetch-site'] as string | undefined,
    allowed: allowedOrigins(req, configured),
  });
}

export function loginRoutes(router: Router, ui: UiContext): void {
  const limit = new SignInLimit(ui.config.signInLimit);
  router.get('/ui/login', (ctx) => showLogin(ctx, ui, 200, safeNext(ctx.url.searchParams.get('next'))), {
    auth: false,
  });
  router.post('/ui/login', (ctx) => signIn(ctx, ui, limit), { auth: false });
  router.post('/ui/logout', (ctx) => signOut(ctx, ui), { auth: false });
}

/** The sign-in form, with a fresh CSRF cookie (and an error sentence when a try failed). */
export function showLogin(
  ctx: RequestContext,
  ui: UiContext,
  code: number,
  next: string,
  error?: string,
  headers: Record<string, string> = {},
): void {
  const csrf = randomToken();
  const cookie = serializeCookie(LOGIN_COOKIE, csrf, { maxAge: LOGIN_COOKIE_SECONDS });
  sendHtml(
    ctx.res,
    code,
    layout(
      { title: 'Sign in' },
      loginPage({ csrf, next, sso: Boolean(ui.deps.oidc), ...(error ? { error } : {}) }),
    ),
    { 'Set-Cookie': cookie, ...headers },
  );
}

/** A pasted bearer token: checked for origin, CSRF, shape and throttling, then by TokenReview. */
async function signIn(ctx: RequestContext, ui: UiContext, limit: SignInLimit): Promise<void> {
  const { req, res } = ctx;
  if (!originOk(req, ui.config.publicOrigins)) {
    return sendProblem(req, res, 403, 'This sign-in form was not sent from this site (Origin check failed).');
  }
  const form = await readForm(req);
  if (!form) return sendProblem(req, res, 400, 'Send the sign-in form as application/x-www-form-urlencoded.');
  const next = safeNext(form.get('next'));
  if (!sameToken(form.get('_csrf'), parseCookies(req.headers.cookie).get(LOGIN_COOKIE))) {
    return showLogin(
      ctx,
      ui,
      403,
      next,
      'The sign-in form expired or was not sent from this site; try again.',
    );
  }
  const token = (form.get('token') ?? '').trim().replace(/^Bearer\s+/i, '');
  if (!token || /\s/.test(token) || token.length > 16_384) {
    return showLogin(ctx, ui, 400, next, 'Paste one bearer token (no spaces).');
  }
  const address = req.socket.remoteAddress ?? 'unknown';
  const wait = await limit.retryAfter(address);
  if (wait > 0) {
    return showLogin(
      ctx,
      ui,
      429,
      next,
      `Too many failed sign-ins from your address; try again in ${wait} s.`,
      {
        'Retry-After': String(wait),
      },
    );
  }
  let user: Awaited<ReturnType<typeof reviewToken>>;
  try {
    user = await reviewToken(ui.deps.authenticator, req, token);
  } catch (err) {
    return showLogin(ctx, ui, 503, next, `The token could not be checked: ${errorMessage(err)}`);
  }
  if (!user) {
    await limit.failed(address);
    return showLogin(ctx, ui, 401, next, 'The cluster did not accept this token.');
  }
  await limit.succeeded(address);
  const { id } = await ui.sessions.create({ ...user }, token);
  redirect(res, next, {
    'Set-Cookie': [
      serializeCookie(SESSION_COOKIE, id, { maxAge: ui.sessions.cookieMaxAge() }),
      serializeCookie(LOGIN_COOKIE, '', { maxAge: 0 }),
    ],
  });
}

/** Ends the browser's session at the recorder (origin and CSRF checked). */
async function signOut(ctx: RequestContext, ui: UiContext): Promise<void> {
  const { req, res } = ctx;
  const cookieId = parseCookies(req.headers.cookie).get(SESSION_COOKIE);
  const session = await ui.sessions.get(cookieId);
  const form = await readForm(req);
  if (!originOk(req, ui.config.publicOrigins) || (session && !sameToken(form?.get('_csrf'), session.csrf))) {
    return sendProblem(req, res, 403, 'Sign-out was not sent from this site (CSRF check failed).');
  }
  await ui.sessions.destroy(cookieId);
  const clear = serializeCookie(SESSION_COOKIE, '', { maxAge: 0 });
  // Signed in at the provider: sign out there too (RP-initiated logout). A page that moves on, not a
  // redirect: the CSP's form-action 'self' also covers where a form's answer redirects to.
  const atProvider =
    cookieId && session?.viewer.method === 'oidc'
      ? await ui.deps.oidc?.client.signOutUrl(ui.sessions.idToken(cookieId, session))
      : null;
  if (atProvider) {
    const page = continuePage(atProvider, 'Signed out here; now signing out at your identity provider.');
    return sendHtml(res, 200, layout({ title: 'Signed out' }, page), {
      'Set-Cookie': clear,
      Refresh: `0;url=${atProvider}`,
    });
  }
  redirect(res, '/ui/login', { 'Set-Cookie': clear });
}
