// Bearer tokens are resolved by the apiserver (TokenReview), so the recorder accepts exactly the
// tokens the cluster accepts. Answers are cached briefly, keyed by a hash so tokens never sit in memory
// as map keys longer than needed.
import { createHash } from 'node:crypto';
import { AuditedExecError } from '../../common/errors.ts';
import type { KubeClient } from '../kube/client.ts';
import type { UserInfo } from './user.ts';

interface TokenReviewStatus {
  authenticated?: boolean;
  user?: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
  error?: string;
}

export interface TokenReviewerOptions {
  kube: KubeClient;
  cacheMs: number;
  /** Injected so tests control expiry; Date.now by default. */
  now?: () => number;
  /** Bound on memory; the oldest entries go first. */
  maxEntries?: number;
}

export class TokenReviewer {
  readonly #o: Required<TokenReviewerOptions>;
  readonly #cache = new Map<string, { at: number; user: UserInfo | null }>();

  constructor(options: TokenReviewerOptions) {
    this.#o = { now: Date.now, maxEntries: 10_000, ...options };
  }

  /** null: the apiserver says the token is not valid. Throws when the apiserver cannot be asked. */
  async review(token: string): Promise<UserInfo | null> {
    const key = createHash('sha256').update(token).digest('hex');
    const now = this.#o.now();
    const hit = this.#cache.get(key);
    if (hit && now - hit.at < this.#o.cacheMs) return hit.user;
    const res = await this.#o.kube.request<{ status?: TokenReviewStatus }>({
      method: 'POST',
      path: '/apis/authentication.k8s.io/v1/tokenreviews',
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } },
    });
    if (res.status !== 201 && res.status !== 200) {
      throw new AuditedExecError(
        'AUTH_TOKENREVIEW_FAILED',
        `the Kubernetes API refused the recorder's TokenReview (HTTP ${res.status}); check the recorder's RBAC`,
      );
    }
    const s = res.body?.status;
    const user: UserInfo | null =
      s?.authenticated && s.user?.username
        ? {
            username: s.user.username,
            ...(s.user.uid ? { uid: s.user.uid } : {}),
            groups: s.user.groups ?? [],
            ...(s.user.extra ? { extra: s.user.extra } : {}),
            method: 'token',
          }
        : null;
    if (this.#cache.size >= this.#o.maxEntries) {
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
    this.#cache.set(key, { at: now, user });
    return user;
  }
}
