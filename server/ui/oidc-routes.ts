// Sign-in at the OpenID Connect provider (--oidc-issuer-url): /ui/oidc/start sends the browser there
// with a sealed pending sign-in in a cookie; /ui/oidc/callback takes that sign-in once, exchanges
// the code (PKCE) and starts a web session that ends when the ID token does. The session carries the
// user and groups mapped by the apiserver's claim rules; what it may see is asked with
// SubjectAccessReview on every page, exactly as for a token sign-in.
import { ERROR_CODES, isErrorCode } from '../../common/error-codes.ts';
import { AuditedExecError } from '../../common/errors.ts';
import { CALLBACK_PATH, type OidcSignIn } from '../auth/oidc/open.ts';
import type { RequestContext, Router } from '../http/router.ts';
import type { UiContext } from './context.ts';
import { parseCookies, serializeCookie } from './cookies.ts';
import { layout } from './pages/layout.ts';
import { continuePage } from './pages/login.ts';
import { redirect, safeNext, sendHtml, sendProblem } from './respond.ts';
import { SESSION_COOKIE } from './viewer.ts';

/** Lax, not Strict: the provider's redirect back to the callback is a cross-site navigation. */
export const OIDC_COOKIE = '__Host-ae_oidc';

export function oidcRoutes(router: Router, ui: UiContext, oidc: OidcSignIn): void {
  router.get('/ui/oidc/start', (ctx) => start(ctx, oidc), { auth: false });
  router.get(CALLBACK_PATH, (ctx) => callback(ctx, ui, oidc), { auth: false });
}

async function start(ctx: RequestContext, oidc: OidcSignIn): Promise<void> {
  const next = safeNext(ctx.url.searchParams.get('next'));
  let begun: Awaited<ReturnType<OidcSignIn['client']['begin']>>;
  try {
    begun = await oidc.client.begin();
  } catch (err) {
    return refuse(ctx, err);
  }
  const sealed = oidc.pending.seal({ ...begun.pending, next });
  redirect(ctx.res, begun.url.toString(), {
    'Set-Cookie': serializeCookie(OIDC_COOKIE, sealed, {
      maxAge: oidc.pending.ttlMs / 1000,
      sameSite: 'Lax',
    }),
  });
}

async function callback(ctx: RequestContext, ui: UiContext, oidc: OidcSignIn): Promise<void> {
  const cookie = parseCookies(ctx.req.headers.cookie).get(OIDC_COOKIE);
  const pending = oidc.pending.take(cookie, ctx.url.searchParams.get('state'));
  if (!pending) {
    return refuse(
      ctx,
      new AuditedExecError(
        'OIDC_STATE_INVALID',
        'This sign-in was not started in this browser, took too long, or was used already; sign in again.',
      ),
    );
  }
  let signedIn: Awaited<ReturnType<OidcSignIn['client']['finish']>>;
  try {
    signedIn = await oidc.client.finish(ctx.url.searchParams, pending);
  } catch (err) {
    return refuse(ctx, err);
  }
  const { id } = await ui.sessions.create(signedIn.user, undefined, {
    expiresAt: signedIn.expiresAt,
    idToken: signedIn.idToken,
  });
  // A page that moves on, not a redirect: the session cookie is SameSite=Strict, and a browser does
  // not send it on a redirect chain that began at the provider's site.
  sendHtml(ctx.res, 200, layout({ title: 'Signed in' }, continuePage(pending.next, 'Signed in.')), {
    'Set-Cookie': [
      serializeCookie(SESSION_COOKIE, id, { maxAge: ui.sessions.cookieMaxAge() }),
      serializeCookie(OIDC_COOKIE, '', { maxAge: 0, sameSite: 'Lax' }),
    ],
    Refresh: `0;url=${pending.next}`,
  });
}

/** An OIDC refusal as a page (or, to an API client, a Status with its code); anything else is a fault. */
function refuse(ctx: RequestContext, err: unknown): void {
  if (!(err instanceof AuditedExecError) || !isErrorCode(err.code) || !err.code.startsWith('OIDC_'))
    throw err;
  sendProblem(ctx.req, ctx.res, ERROR_CODES[err.code].http ?? 500, err.message, { refusal: err.code });
}
