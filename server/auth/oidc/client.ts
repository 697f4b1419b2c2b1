// The recorder as an OpenID Connect relying party (authorization code flow with PKCE, through
// openid-client): where to send a browser to sign in, what its callback proves, and where to send
// it to sign out at the provider. The provider's metadata is fetched on first use and again after a
// failure, so an identity provider that is down delays sign-in; it does not stop the recorder.
import * as oidc from 'openid-client';
import { AuditedExecError, errorMessage } from '../../../common/errors.ts';
import type { UserInfo } from '../user.ts';
import { type ClaimMapping, userFromClaims } from './claims.ts';
import { fetchTrusting } from './fetch.ts';
import type { PendingSignIn } from './pending.ts';

export interface OidcClientOptions {
  issuerUrl: string;
  clientId: string;
  /** absent: a public client (PKCE only) */
  clientSecret?: string;
  /** PEM bundle the issuer's certificate chains to; absent: the system's CAs */
  caPem?: string;
  /** <public URL>/ui/oidc/callback, registered at the provider */
  redirectUri: string;
  /** where the provider sends the browser after signing out there */
  postLogoutRedirectUri: string;
  scopes: string[];
  mapping: ClaimMapping;
}

export interface SignedIn {
  user: UserInfo;
  /** the ID token's `exp`, ms since the epoch */
  expiresAt: number;
  /** the ID token itself: the hint RP-initiated logout sends back (some providers require it) */
  idToken: string;
}

export class OidcClient {
  readonly #o: OidcClientOptions;
  #config: Promise<oidc.Configuration> | undefined;

  constructor(options: OidcClientOptions) {
    this.#o = options;
  }

  /** The provider's authorization URL for a new sign-in, and the secrets its callback must match. */
  async begin(): Promise<{ url: URL; pending: Omit<PendingSignIn, 'next' | 'expiresAt'> }> {
    const config = await this.#configuration();
    const verifier = oidc.randomPKCECodeVerifier();
    const pending = { state: oidc.randomState(), nonce: oidc.randomNonce(), verifier };
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: this.#o.redirectUri,
      scope: this.#o.scopes.join(' '),
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: pending.state,
      nonce: pending.nonce,
    });
    return { url, pending };
  }

  /**
   * The callback's query (what the provider redirected with) → the signed-in user. The code is
   * exchanged with the verifier; openid-client checks the ID token's signature, issuer, audience,
   * expiry and nonce. Throws an AuditedExecError whose code says which part failed.
   */
  async finish(query: URLSearchParams, pending: PendingSignIn): Promise<SignedIn> {
    const config = await this.#configuration();
    // openid-client takes the redirect URI from this URL: the registered one, whatever Host was asked.
    const callback = new URL(this.#o.redirectUri);
    callback.search = query.toString();
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      tokens = await oidc.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: pending.verifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      });
    } catch (err) {
      throw refusal(err);
    }
    const claims = tokens.claims();
    if (!claims || !tokens.id_token) {
      throw new AuditedExecError('OIDC_TOKEN_INVALID', 'The identity provider sent no ID token.');
    }
    return {
      user: userFromClaims(claims, this.#o.mapping),
      expiresAt: claims.exp * 1000,
      idToken: tokens.id_token,
    };
  }

  /** The provider's RP-initiated logout URL, or null when it has no end_session_endpoint. */
  async signOutUrl(idToken: string | null): Promise<string | null> {
    let config: oidc.Configuration;
    try {
      config = await this.#configuration();
    } catch {
      return null;
    }
    if (!config.serverMetadata().end_session_endpoint) return null;
    return oidc
      .buildEndSessionUrl(config, {
        client_id: this.#o.clientId,
        post_logout_redirect_uri: this.#o.postLogoutRedirectUri,
        ...(idToken ? { id_token_hint: idToken } : {}),
      })
      .toString();
  }

  #configuration(): Promise<oidc.Configuration> {
    this.#config ??= this.#discover().catch((err: unknown) => {
      this.#config = undefined;
      throw err;
    });
    return this.#config;
  }

  async #discover(): Promise<oidc.Configuration> {
    const o = this.#o;
    try {
      return await oidc.discovery(
        new URL(o.issuerUrl),
        o.clientId,
        o.clientSecret,
        o.clientSecret ? oidc.ClientSecretBasic(o.clientSecret) : oidc.None(),
        {
          ...(o.caPem ? { [oidc.customFetch]: fetchTrusting(o.caPem) } : {}),
          // OIDC Core lets a client trust an ID token from the token endpoint by TLS alone, and
          // openid-client does so by default; the recorder also checks its signature against the
          // provider's published keys (a token altered on the way, by a proxy or a bug, is refused).
          execute: [oidc.enableNonRepudiationChecks],
          timeout: 10,
        },
      );
    } catch (err) {
      throw new AuditedExecError(
        'OIDC_UNAVAILABLE',
        `The identity provider ${o.issuerUrl} could not be reached (${errorMessage(err)}); try again in a moment, or sign in with a token.`,
        { cause: err },
      );
    }
  }
}

/** What openid-client threw, as the refusal the browser is shown. */
function refusal(err: unknown): AuditedExecError {
  if (err instanceof AuditedExecError) return err;
  if (err instanceof oidc.AuthorizationResponseError) {
    return new AuditedExecError(
      'OIDC_DENIED',
      `The identity provider did not sign you in (${err.error}${err.error_description ? `: ${err.error_description}` : ''}); sign in again.`,
      { cause: err },
    );
  }
  const code = (err as { code?: unknown }).code;
  if (err instanceof oidc.ResponseBodyError || (typeof code === 'string' && code.startsWith('OAUTH_'))) {
    // openid-client's own message is generic; the check that failed (which claim) is its cause's.
    const cause = (err as { cause?: unknown }).cause;
    const why = cause instanceof Error ? cause.message : errorMessage(err);
    return new AuditedExecError(
      'OIDC_TOKEN_INVALID',
      `The identity provider's answer was refused (${why}); sign in again.`,
      { cause: err },
    );
  }
  return new AuditedExecError(
    'OIDC_UNAVAILABLE',
    `The identity provider could not complete the sign-in (${errorMessage(err)}); try again in a moment.`,
    { cause: err },
  );
}
