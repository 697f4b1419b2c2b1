// Browser sign-in sessions: an opaque random id in a cookie, the identity server-side.
// The table keys on SHA-256(id) so a heap dump or a timing side channel on the map never yields a
// usable cookie. The user's bearer token is NOT kept: the session lives until its absolute or idle
// expiry (or logout), which therefore bounds how long a revoked token keeps browser access.
import { createHash, randomBytes } from 'node:crypto';
import type { UserInfo } from './user.ts';

export interface WebSession {
  viewer: UserInfo;
  /** per-session CSRF token (synchronizer pattern), rendered into every form */
  csrf: string;
  createdAt: number;
  lastSeenAt: number;
}

export interface WebSessionOptions {
  /** absolute lifetime, ms */
  absoluteTtlMs: number;
  /** idle lifetime, ms */
  idleTtlMs: number;
  /** oldest sessions are evicted beyond this many */
  maxSessions: number;
  now: () => number;
}

export const WEB_SESSION_DEFAULTS: WebSessionOptions = {
  absoluteTtlMs: 8 * 3600_000,
  idleTtlMs: 30 * 60_000,
  maxSessions: 10_000,
  now: Date.now,
};

export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

function key(id: string): string {
  return createHash('sha256').update(id).digest('base64url');
}

export class WebSessions {
  readonly options: WebSessionOptions;
  readonly #table = new Map<string, WebSession>();

  constructor(options: Partial<WebSessionOptions> = {}) {
    this.options = { ...WEB_SESSION_DEFAULTS, ...options };
    if (this.options.idleTtlMs <= 0 || this.options.absoluteTtlMs <= 0) {
      throw new RangeError('web session lifetimes must be positive');
    }
  }

  /** Starts a session; returns the cookie value (the only place the raw id exists). */
  create(viewer: UserInfo): { id: string; session: WebSession } {
    this.#sweep();
    while (this.#table.size >= this.options.maxSessions) {
      const oldest = this.#table.keys().next().value;
      if (oldest === undefined) break;
      this.#table.delete(oldest);
    }
    const now = this.options.now();
    const id = randomToken();
    const session: WebSession = { viewer, csrf: randomToken(), createdAt: now, lastSeenAt: now };
    this.#table.set(key(id), session);
    return { id, session };
  }

  /** The live session for a cookie value, touching its idle timer; null when unknown or expired. */
  get(id: string | undefined): WebSession | null {
    if (!id || id.length > 200) return null;
    const k = key(id);
    const session = this.#table.get(k);
    if (!session) return null;
    const now = this.options.now();
    if (this.#expired(session, now)) {
      this.#table.delete(k);
      return null;
    }
    session.lastSeenAt = now;
    return session;
  }

  destroy(id: string | undefined): void {
    if (id) this.#table.delete(key(id));
  }

  /** Seconds the cookie should live: the absolute expiry (idle expiry is enforced server-side). */
  cookieMaxAge(): number {
    return Math.floor(this.options.absoluteTtlMs / 1000);
  }

  get size(): number {
    return this.#table.size;
  }

  #expired(s: WebSession, now: number): boolean {
    return now - s.createdAt >= this.options.absoluteTtlMs || now - s.lastSeenAt >= this.options.idleTtlMs;
  }

  #sweep(): void {
    const now = this.options.now();
    for (const [k, s] of this.#table) if (this.#expired(s, now)) this.#table.delete(k);
  }
}
