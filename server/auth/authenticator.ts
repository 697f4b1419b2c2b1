// The one authentication step every route shares (HTTP and WebSocket upgrades alike):
// a bearer token goes to TokenReview, otherwise a verified client certificate names the user.
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { userFromCertificate } from './clientcert.ts';
import type { TokenReviewer } from './tokenreview.ts';
import type { UserInfo } from './user.ts';

export interface Authenticator {
  /** null when the request carries no valid credentials; throws when they cannot be checked. */
  authenticate(req: IncomingMessage): Promise<UserInfo | null>;
}

export function bearerToken(req: IncomingMessage): string | null {
  const h = req.headers.authorization;
  const m = h ? /^Bearer\s+(\S+)\s*$/i.exec(h) : null;
  return m ? m[1]! : null;
}

export function createAuthenticator(options: {
  tokens: TokenReviewer;
  /** Fingerprints of the CAs whose client certificates are users, when the listener trusts more. */
  certificateAnchors?: ReadonlySet<string>;
}): Authenticator {
  return {
    async authenticate(req) {
      const token = bearerToken(req);
      // A token that is present but invalid is a failure, even if a certificate is also offered:
      // the caller asked to be that token's user.
      if (token) return options.tokens.review(token);
      return userFromCertificate(req.socket as TLSSocket, options.certificateAnchors);
    },
  };
}
