// A sign-in between the redirect to the identity provider and its callback: state, nonce, PKCE
// verifier and where to go afterwards. It travels in the browser's own cookie, sealed (AES-256-GCM)
// under a key every replica derives from the client secret, so the callback may land on any replica;
// it is bound to that browser (the cookie) and short-lived, and a state is taken once per replica
// (a replay of the callback is refused; the code itself is single-use at the provider, and useless
// without the verifier sealed here).
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

export interface PendingSignIn {
  state: string;
  nonce: string;
  verifier: string;
  /** the same-site path to return to */
  next: string;
  /** ms since the epoch */
  expiresAt: number;
}

export interface PendingSignInsOptions {
  /** the client secret (shared by the replicas); absent: a key of this process only */
  secret?: string;
  ttlMs: number;
  /** used states remembered at most (beyond, the oldest are forgotten; they expire anyway) */
  maxUsed: number;
  now: () => number;
}

export const PENDING_DEFAULTS: Omit<PendingSignInsOptions, 'secret'> = {
  ttlMs: 10 * 60_000,
  maxUsed: 10_000,
  now: Date.now,
};

export class PendingSignIns {
  readonly #o: Omit<PendingSignInsOptions, 'secret'>;
  readonly #key: Buffer;
  /** state → its expiry: a used state stays refused until it would have expired anyway */
  readonly #used = new Map<string, number>();

  constructor(options: Partial<PendingSignInsOptions> = {}) {
    const { secret, ...rest } = options;
    this.#o = { ...PENDING_DEFAULTS, ...rest };
    const ikm = secret ? Buffer.from(secret, 'utf8') : randomBytes(32);
    this.#key = Buffer.from(hkdfSync('sha256', ikm, '', 'audited-exec oidc pending sign-in', 32));
  }

  get ttlMs(): number {
    return this.#o.ttlMs;
  }

  /** The cookie value for a sign-in starting now. */
  seal(p: Omit<PendingSignIn, 'expiresAt'>): string {
    const body: PendingSignIn = { ...p, expiresAt: this.#o.now() + this.#o.ttlMs };
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    const data = Buffer.concat([cipher.update(JSON.stringify(body), 'utf8'), cipher.final()]);
    return Buffer.concat([iv, data, cipher.getAuthTag()]).toString('base64url');
  }

  /**
   * The pending sign-in the callback's `state` belongs to, taken: null when the cookie is missing,
   * forged or expired, when its state is not the callback's, or when that state was used already.
   */
  take(cookie: string | undefined, state: string | null): PendingSignIn | null {
    if (!cookie || !state || cookie.length > 4096) return null;
    const p = this.#open(cookie);
    const now = this.#o.now();
    if (!p || !same(p.state, state) || p.expiresAt <= now) return null;
    this.#forgetExpired(now);
    if (this.#used.has(p.state)) return null;
    this.#used.set(p.state, p.expiresAt);
    return p;
  }

  #open(cookie: string): PendingSignIn | null {
    const raw = Buffer.from(cookie, 'base64url');
    if (raw.length < 12 + 16 + 2) return null;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(raw.length - 16));
      const text = Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]);
      const p = JSON.parse(text.toString('utf8')) as PendingSignIn;
      return typeof p.state === 'string' && typeof p.expiresAt === 'number' ? p : null;
    } catch {
      return null;
    }
  }

  #forgetExpired(now: number): void {
    for (const [state, expiresAt] of this.#used) if (expiresAt <= now) this.#used.delete(state);
    while (this.#used.size >= this.#o.maxUsed) {
      const oldest = this.#used.keys().next().value;
      if (oldest === undefined) break;
      this.#used.delete(oldest);
    }
  }
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
