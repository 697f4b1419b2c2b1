// Who is calling: static bearer tokens, service-account tokens (JWTs the sandbox signs, with the
// same claims a projected kube token has) and client certificates (CN = user, O = groups).
// Pure apart from randomness for new tokens; the server feeds it the request's credentials.
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';

export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

export const API_AUDIENCE = 'https://kubernetes.default.svc.cluster.local';
export const NODE_NAME_EXTRA = 'authentication.kubernetes.io/node-name';
const AUTHENTICATED = 'system:authenticated';

export const STATIC_USERS: Record<string, string[]> = {
  admin: ['system:masters'],
  alice: ['dev'],
  bob: ['viewers'],
  auditor: ['auditors'],
  moderator: ['moderators'],
};

export interface ServiceAccountTokenOptions {
  namespace: string;
  name: string;
  nodeName?: string;
  audience?: string;
  /** several audiences (TokenRequest); wins over `audience` */
  audiences?: string[];
  /** seconds; default one day */
  expirationSeconds?: number;
}

interface SaClaims {
  iss: string;
  sub: string;
  aud: string[];
  exp: number;
  iat: number;
  nbf: number;
  jti: string;
  'kubernetes.io': {
    namespace: string;
    serviceaccount: { name: string; uid: string };
    node?: { name: string; uid: string };
  };
}

export type AuthnResult = { ok: true; user: UserInfo; audiences: string[] } | { ok: false; reason: string };

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/** Deterministic uid so the same name maps to the same uid within a sandbox. */
function uidFor(secret: Buffer, name: string): string {
  const h = createHmac('sha256', secret).update(name).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export class Authenticator {
  readonly #secret = randomBytes(32);
  readonly #static = new Map<string, UserInfo>();
  readonly #revoked = new Set<string>();
  readonly tokens: Record<string, string> = {};

  constructor() {
    for (const [name, groups] of Object.entries(STATIC_USERS)) {
      const token = `${name}-${randomBytes(16).toString('hex')}`;
      this.tokens[name] = token;
      this.#static.set(token, {
        username: name,
        uid: uidFor(this.#secret, name),
        groups: [...groups, AUTHENTICATED],
      });
    }
  }

  serviceAccountUser(namespace: string, name: string, nodeName?: string, jti?: string): UserInfo {
    const extra: Record<string, string[]> = {};
    if (jti) extra['authentication.kubernetes.io/credential-id'] = [`JTI=${jti}`];
    if (nodeName) {
      extra[NODE_NAME_EXTRA] = [nodeName];
      extra['authentication.kubernetes.io/node-uid'] = [uidFor(this.#secret, `node:${nodeName}`)];
    }
    return {
      username: `system:serviceaccount:${namespace}:${name}`,
      uid: uidFor(this.#secret, `sa:${namespace}:${name}`),
      groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, AUTHENTICATED],
      ...(Object.keys(extra).length ? { extra } : {}),
    };
  }

  /** A signed JWT with the claims of a projected service-account token (HS256: only we verify it). */
  serviceAccountToken(opts: ServiceAccountTokenOptions, now = Date.now()): string {
    const iat = Math.floor(now / 1000);
    const claims: SaClaims = {
      iss: API_AUDIENCE,
      sub: `system:serviceaccount:${opts.namespace}:${opts.name}`,
      aud: opts.audiences ?? [opts.audience ?? API_AUDIENCE],
      exp: iat + (opts.expirationSeconds ?? 86_400),
      iat,
      nbf: iat,
      jti: randomUUID(),
      'kubernetes.io': {
        namespace: opts.namespace,
        serviceaccount: { name: opts.name, uid: uidFor(this.#secret, `sa:${opts.namespace}:${opts.name}`) },
        ...(opts.nodeName
          ? { node: { name: opts.nodeName, uid: uidFor(this.#secret, `node:${opts.nodeName}`) } }
          : {}),
      },
    };
    const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: 'sandbox' }));
    const body = b64url(JSON.stringify(claims));
    const sig = createHmac('sha256', this.#secret).update(`${head}.${body}`).digest('base64url');
    return `${head}.${body}.${sig}`;
  }

  /**
   * Resolves a bearer token. `audiences` empty means "the apiserver's own audience" (a request to
   * the API); TokenReview passes its spec.audiences. Returns the audiences the token was valid for.
   */
  authenticateToken(token: string, audiences: string[] = [], now = Date.now()): AuthnResult {
    if (this.#revoked.has(token)) return { ok: false, reason: 'token has been revoked' };
    const stat = this.#static.get(token);
    if (stat) return { ok: true, user: stat, audiences: audiences.length ? audiences : [API_AUDIENCE] };
    const parts = token.split('.');
    if (parts.length !== 3) return { ok: false, reason: 'invalid bearer token' };
    const [head, body, sig] = parts as [string, string, string];
    const want = createHmac('sha256', this.#secret).update(`${head}.${body}`).digest();
    const got = Buffer.from(sig, 'base64url');
    if (got.length !== want.length || !timingSafeEqual(got, want))
      return { ok: false, reason: 'invalid bearer token' };
    let claims: SaClaims;
    try {
      claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as SaClaims;
    } catch {
      return { ok: false, reason: 'invalid bearer token' };
    }
    if (claims.exp * 1000 < now) return { ok: false, reason: 'token has expired' };
    const wanted = audiences.length ? audiences : [API_AUDIENCE];
    const matched = wanted.filter((a) => claims.aud.includes(a));
    if (!matched.length) return { ok: false, reason: 'token audiences is invalid for the target audiences' };
    const k = claims['kubernetes.io'];
    return {
      ok: true,
      user: this.serviceAccountUser(k.namespace, k.serviceaccount.name, k.node?.name, claims.jti),
      audiences: matched,
    };
  }

  /** Like deleting a token's Secret or its service account: the token stops authenticating. */
  revoke(token: string): void {
    this.#revoked.add(token);
  }

  /** A client certificate already verified by TLS against the CA: CN = user, O = groups. */
  static certificateUser(cert: PeerCertificate): UserInfo | null {
    const cn = cert.subject?.CN;
    if (!cn) return null;
    const name = Array.isArray(cn) ? cn[0] : cn;
    if (!name) return null;
    const o = cert.subject.O;
    const groups = o === undefined ? [] : Array.isArray(o) ? o : [o];
    return { username: name, groups: [...groups, AUTHENTICATED] };
  }
}
