// Who is looking: a browser session cookie, or (when configured) an authenticating proxy's
// headers, or the server's own authenticator (bearer token / client certificate) for API clients.
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Authenticator } from '../auth/authenticator.ts';
import { chainFingerprints } from '../auth/clientcert.ts';
import type { UserInfo } from '../auth/user.ts';
import type { WebSession, WebSessions } from '../auth/web-session.ts';
import { parseCookies } from './cookies.ts';

export const SESSION_COOKIE = '__Host-ae_session';
export const LOGIN_COOKIE = '__Host-ae_login';

/**
 * Trusted front proxy (like kube-apiserver's --requestheader-*). Headers are believed ONLY on a
 * TLS connection whose client certificate chains to the server's client CA (socket.authorized)
 * and whose CN is listed in allowedNames. There is deliberately no "trust by source IP" mode:
 * on a pod network any workload can reach the recorder's port.
 */
export interface TrustedProxyConfig {
  allowedNames: string[];
  userHeader: string;
  groupHeader: string;
  /** Fingerprints of the CAs the proxy's certificate must chain to, when the listener trusts more. */
  anchors?: ReadonlySet<string>;
}

export const TRUSTED_PROXY_DEFAULTS: Omit<TrustedProxyConfig, 'allowedNames'> = {
  userHeader: 'x-remote-user',
  groupHeader: 'x-remote-group',
};

export interface ResolvedViewer {
  user: UserInfo;
  /** set for cookie sessions: forms must echo it */
  session?: WebSession;
  via: 'cookie' | 'proxy' | 'authenticator';
}

/** The proxy's certificate CN when it is a verified, allowed proxy; null otherwise. */
export function verifiedProxy(socket: unknown, proxy: TrustedProxyConfig | undefined): string | null {
  if (!proxy || proxy.allowedNames.length === 0) return null;
  const tls = socket as Partial<TLSSocket>;
  if (typeof tls.getPeerCertificate !== 'function' || tls.authorized !== true) return null;
  const cert = tls.getPeerCertificate(true);
  if (proxy.anchors && !chainFingerprints(cert).some((f) => proxy.anchors?.has(f))) return null;
  const cn = cert?.subject?.CN;
  const name = Array.isArray(cn) ? cn[0] : cn;
  return name && proxy.allowedNames.includes(name) ? name : null;
}

/** X-Remote-User / X-Remote-Group (repeated or comma-separated) → a user. Pure. */
export function userFromProxyHeaders(
  headers: IncomingMessage['headers'],
  proxy: Omit<TrustedProxyConfig, 'allowedNames'>,
): UserInfo | null {
  const raw = headers[proxy.userHeader.toLowerCase()];
  const username = (Array.isArray(raw) ? raw[0] : raw)?.trim();
  if (!username) return null;
  const g = headers[proxy.groupHeader.toLowerCase()];
  const groups = (Array.isArray(g) ? g : g ? [g] : [])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);
  return { username, groups: [...new Set([...groups, 'system:authenticated'])], method: 'certificate' };
}

export interface ViewerSources {
  sessions: WebSessions;
  authenticator: Authenticator;
  trustedProxy?: TrustedProxyConfig;
}

export async function resolveViewer(req: IncomingMessage, s: ViewerSources): Promise<ResolvedViewer | null> {
  const cookie = parseCookies(req.headers.cookie).get(SESSION_COOKIE);
  const session = await s.sessions.get(cookie);
  if (cookie && session) {
    const current = await recheck(cookie, session, req, s);
    return current ? { user: current.viewer, session: current, via: 'cookie' } : null;
  }
  if (verifiedProxy(req.socket, s.trustedProxy)) {
    // A verified proxy speaks for its users only; it never signs in as itself.
    const user = userFromProxyHeaders(req.headers, { ...TRUSTED_PROXY_DEFAULTS, ...s.trustedProxy });
    return user ? { user, via: 'proxy' } : null;
  }
  const user = await s.authenticator.authenticate(req);
  return user ? { user, via: 'authenticator' } : null;
}

/**
 * A cookie session whose token is due for review asks TokenReview again: a revoked or expired
 * token ends the session (null: the browser is sent to sign in), changed groups take effect. A
 * review that cannot be made throws (503), leaving the session for the next request to retry.
 */
async function recheck(
  cookie: string,
  session: WebSession,
  req: IncomingMessage,
  s: ViewerSources,
): Promise<WebSession | null> {
  const token = s.sessions.tokenDue(cookie, session);
  if (token === null) return session;
  session.review ??= reviewToken(s.authenticator, req, token).finally(() => {
    delete session.review;
  });
  const user = await session.review;
  if (!user) {
    await s.sessions.destroy(cookie);
    return null;
  }
  await s.sessions.reviewed(cookie, session, { ...user });
  return session;
}

/** TokenReview of a pasted token through the server's authenticator (the one path tokens take). */
export function reviewToken(
  authenticator: Authenticator,
  req: IncomingMessage,
  token: string,
): Promise<UserInfo | null> {
  const probe = {
    headers: { authorization: `Bearer ${token}` },
    socket: req.socket,
  } as unknown as IncomingMessage;
  return authenticator.authenticate(probe);
}
