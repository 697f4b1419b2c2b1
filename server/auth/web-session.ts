// Browser sign-in sessions: an opaque random id in a cookie, the identity server-side.
// The table keys on SHA-256(id) so a heap dump or a timing side channel on the map never yields a
// usable cookie. The user's bearer token is kept only sealed (AES-256-GCM) under a key derived from
// the cookie id, which the server does not store: a heap dump yields no token, and a request that
// presents the cookie can unseal it to ask TokenReview again. That re-review (every
// reviewIntervalMs) is what ends a browser session whose token was revoked or whose groups changed.
// The table is state a browser must find whichever replica answers, so it sits behind
// WebSessionStore: MemoryWebSessions (this process) by default, a shared table in another engine.
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import type { UserInfo } from './user.ts';

export interface WebSession {
  viewer: UserInfo;
  /** per-session CSRF token (synchronizer pattern), rendered into every form */
  csrf: string;
  createdAt: number;
  lastSeenAt: number;
  /** when TokenReview last accepted the token */
  reviewedAt: number;
  /** iv ‖ ciphertext ‖ tag of the bearer token; absent when signed in without one */
  sealedToken?: Buffer;
  /** ms since the epoch: ends the session before the absolute lifetime (an OIDC ID token's expiry) */
  expiresAt?: number;
  /** iv ‖ ciphertext ‖ tag of the OIDC ID token, sealed like the bearer token: the logout hint */
  sealedIdToken?: Buffer;
  /** the re-review in flight, shared by concurrent requests */
  review?: Promise<UserInfo | null>;
}

/** The sessions by key (SHA-256 of the cookie id), as the store keeps them. */
export interface WebSessionStore {
  get(key: string): Promise<WebSession | undefined>;
  /** Inserts or replaces. */
  put(key: string, session: WebSession): Promise<void>;
  delete(key: string): Promise<void>;
  /** Drops sessions created at or before `createdBefore` or last seen at or before `seenBefore`,
   *  then the oldest created beyond the newest `keep`. */
  prune(o: { createdBefore: number; seenBefore: number; keep: number }): Promise<void>;
  count(): Promise<number>;
}

/** This process's sessions, oldest first; the objects it holds are the ones callers get. */
export class MemoryWebSessions implements WebSessionStore {
  readonly #table = new Map<string, WebSession>();

  async get(key: string): Promise<WebSession | undefined> {
    return this.#table.get(key);
  }

  async put(key: string, session: WebSession): Promise<void> {
    this.#table.set(key, session);
  }

  async delete(key: string): Promise<void> {
    this.#table.delete(key);
  }

  async prune(o: { createdBefore: number; seenBefore: number; keep: number }): Promise<void> {
    for (const [k, s] of this.#table)
      if (s.createdAt <= o.createdBefore || s.lastSeenAt <= o.seenBefore) this.#table.delete(k);
    while (this.#table.size > o.keep) {
      const oldest = this.#table.keys().next().value;
      if (oldest === undefined) break;
      this.#table.delete(oldest);
    }
  }

  async count(): Promise<number> {
    return this.#table.size;
  }
}

export interface WebSessionOptions {
  /** absolute lifetime, ms */
  absoluteTtlMs: number;
  /** idle lifetime, ms */
  idleTtlMs: number;
  /** how often a session's token is checked again with TokenReview, ms */
  reviewIntervalMs: number;
  /** oldest sessions are evicted beyond this many */
  maxSessions: number;
  now: () => number;
}

export const WEB_SESSION_DEFAULTS: WebSessionOptions = {
  absoluteTtlMs: 8 * 3600_000,
  idleTtlMs: 30 * 60_000,
  reviewIntervalMs: 5 * 60_000,
  maxSessions: 10_000,
  now: Date.now,
};

export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

function key(id: string): string {
  return createHash('sha256').update(id).digest('base64url');
}

/** The token's sealing key: derivable only from the cookie id (domain-separated from key()). */
function sealingKey(id: string): Buffer {
  return createHmac('sha256', id).update('audited-exec web-session token').digest();
}

function seal(id: string, token: string): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', sealingKey(id), iv);
  const body = Buffer.concat([cipher.update(token, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]);
}

function unseal(id: string, sealed: Buffer): string | null {
  try {
    const decipher = createDecipheriv('aes-256-gcm', sealingKey(id), sealed.subarray(0, 12));
    decipher.setAuthTag(sealed.subarray(sealed.length - 16));
    return Buffer.concat([
      decipher.update(sealed.subarray(12, sealed.length - 16)),
      decipher.final(),
    ]).toString('utf8');
  } catch {
    return null;
  }
}

export class WebSessions {
  readonly options: WebSessionOptions;
  readonly #store: WebSessionStore;

  constructor(options: Partial<WebSessionOptions> & { store?: WebSessionStore } = {}) {
    const { store, ...rest } = options;
    this.options = { ...WEB_SESSION_DEFAULTS, ...rest };
    this.#store = store ?? new MemoryWebSessions();
    if (
      this.options.idleTtlMs <= 0 ||
      this.options.absoluteTtlMs <= 0 ||
      this.options.reviewIntervalMs <= 0
    ) {
      throw new RangeError('web session lifetimes must be positive');
    }
  }

  /**
   * Starts a session; returns the cookie value (the only place the raw id exists). With the token
   * that signed in, the session is re-reviewed every reviewIntervalMs; without one it lives until
   * its expiry, or `expiresAt` when that is sooner.
   */
  async create(
    viewer: UserInfo,
    token?: string,
    o: { expiresAt?: number; idToken?: string } = {},
  ): Promise<{ id: string; session: WebSession }> {
    const now = this.options.now();
    await this.#store.prune({
      createdBefore: now - this.options.absoluteTtlMs,
      seenBefore: now - this.options.idleTtlMs,
      keep: this.options.maxSessions - 1,
    });
    const id = randomToken();
    const session: WebSession = {
      viewer,
      csrf: randomToken(),
      createdAt: now,
      lastSeenAt: now,
      reviewedAt: now,
      ...(token ? { sealedToken: seal(id, token) } : {}),
      ...(o.expiresAt === undefined ? {} : { expiresAt: o.expiresAt }),
      ...(o.idToken ? { sealedIdToken: seal(id, o.idToken) } : {}),
    };
    await this.#store.put(key(id), session);
    return { id, session };
  }

  /** The live session for a cookie value, touching its idle timer; null when unknown or expired. */
  async get(id: string | undefined): Promise<WebSession | null> {
    if (!id || id.length > 200) return null;
    const k = key(id);
    const session = await this.#store.get(k);
    if (!session) return null;
    const now = this.options.now();
    if (this.#expired(session, now)) {
      await this.#store.delete(k);
      return null;
    }
    session.lastSeenAt = now;
    await this.#store.put(k, session);
    return session;
  }

  /** The token to review again when the last review is older than reviewIntervalMs; else null. */
  tokenDue(id: string, session: WebSession): string | null {
    if (!session.sealedToken) return null;
    if (this.options.now() - session.reviewedAt < this.options.reviewIntervalMs) return null;
    return unseal(id, session.sealedToken);
  }

  /** The ID token the session was signed in with (the provider's logout hint); null without one. */
  idToken(id: string, session: WebSession): string | null {
    return session.sealedIdToken ? unseal(id, session.sealedIdToken) : null;
  }

  /** Records a review that accepted the token: the identity is replaced by what it said. */
  async reviewed(id: string, session: WebSession, viewer: UserInfo): Promise<void> {
    session.viewer = viewer;
    session.reviewedAt = this.options.now();
    await this.#store.put(key(id), session);
  }

  async destroy(id: string | undefined): Promise<void> {
    if (id) await this.#store.delete(key(id));
  }

  /** Seconds the cookie should live: the absolute expiry (idle expiry is enforced server-side). */
  cookieMaxAge(): number {
    return Math.floor(this.options.absoluteTtlMs / 1000);
  }

  /** Sessions held, expired ones not yet pruned included. */
  count(): Promise<number> {
    return this.#store.count();
  }

  #expired(s: WebSession, now: number): boolean {
    return (
      now - s.createdAt >= this.options.absoluteTtlMs ||
      now - s.lastSeenAt >= this.options.idleTtlMs ||
      (s.expiresAt !== undefined && now >= s.expiresAt)
    );
  }
}
