// One-time sign-in links: whoever runs the recorder (the local demo, an operator's script) turns a
// bearer token into a link that signs a browser in once, so nobody pastes a token into a form.
// The link carries a random code, never the token; the code is kept in this process's memory only
// (a link works on the replica that made it), is used at most once and expires. The UI's route
// (ui/sign-in-link-routes.ts) sends the token through the same TokenReview as a pasted one.
import { randomToken } from './web-session.ts';

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
    this.#open.set(code, { token, next, expiresAt: this.#now() + this.#ttlMs });
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
