// One-time sign-in links: whoever runs the recorder (the local demo, an operator's script) turns a
// bearer token into a link that signs a browser in once, so nobody pastes a token into a form.
// The link carries a random code, never the token; the code is kept in this process's memory only
// (a link works on the replica that made it), is used at most once and expires. Opening it goes
// through the same TokenReview as a pasted token.
import { randomToken } from '../auth/web-session.ts';
import type { RequestContext, Router } from '../http/router.ts';
import type { UiContext } from './context.ts';
import { serializeCookie } from './cookies.ts';
import { showLogin } from './login-routes.ts';
import { redirect, safeNext } from './respond.ts';
import { reviewToken, SESSION_COOKIE } from './viewer.ts';

export const SIGN_IN_LINK_PATH = '/ui/login/link/';
const DEFAULT_TTL_MS = 15 * 60_000;
/** Links not yet used; more than this and the oldest go (a script in a loop must not grow us). */
const MAX_OPEN = 100;

interface OpenLink {
  token: string;
  next: string;
  expiresAt: number;
}

export class SignInLinks {
  readonly #open = new Map<string, OpenLink>();
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor(o: { ttlMs?: number; now?: () => number } = {}) {
    this.#ttlMs = o.ttlMs ?? DEFAULT_TTL_MS;
    this.#now = o.now ?? Date.now;
  }

  /** A path (append it to the recorder's URL) that signs in as the token's user once. */
  issue(token: string, next = '/ui/sessions'): string {
    this.#sweep();
    while (this.#open.size >= MAX_OPEN) this.#open.delete(this.#open.keys().next().value!);
    const code = randomToken();
    this.#open.set(code, { token, next: safeNext(next), expiresAt: this.#now() + this.#ttlMs });
    return `${SIGN_IN_LINK_PATH}${code}`;
  }

  /** The link's token and destination, once; undefined when unknown, used or expired. */
  take(code: string): { token: string; next: string } | undefined {
    const link = this.#open.get(code);
    this.#open.delete(code);
    if (!link || link.expiresAt <= this.#now()) return undefined;
    return { token: link.token, next: link.next };
  }

  #sweep(): void {
    const now = this.#now();
    for (const [code, link] of this.#open) if (link.expiresAt <= now) this.#open.delete(code);
  }
}

export function signInLinkRoutes(router: Router, ui: UiContext): void {
  router.get(`${SIGN_IN_LINK_PATH}:code`, (ctx) => openLink(ctx, ui), { auth: false });
}

async function openLink(ctx: RequestContext, ui: UiContext): Promise<void> {
  const link = ui.links.take(ctx.params.code ?? '');
  if (!link) {
    return showLogin(
      ctx,
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
      503,
      '/ui/sessions',
      'The cluster could not be asked about this sign-in link; try again.',
    );
  }
  if (!user)
    return showLogin(ctx, 401, '/ui/sessions', 'The cluster no longer accepts the token behind this link.');
  const { id } = await ui.sessions.create({ ...user }, link.token);
  redirect(ctx.res, link.next, {
    'Set-Cookie': serializeCookie(SESSION_COOKIE, id, { maxAge: ui.sessions.cookieMaxAge() }),
  });
}
