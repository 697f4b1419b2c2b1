// A real OpenID Provider for tests: oidc-provider (a certified OP) over TLS on localhost, its
// certificate from a CA of its own (passed to the recorder as --oidc-ca-file, as in production).
// The test holds the OP's signing key, so it can sign ID tokens the OP never issued, and can rewrite
// the token endpoint's answer (a tampered, expired, foreign or replayed ID token reaches the real
// client exactly as the OP would send it).
//
//   const op = await startOp({ dir, redirectUri, postLogoutRedirectUri, accounts: { olivia: {…} } });
//   op.issuer, op.caFile, op.secretFile; op.rewriteIdToken((jwt, claims) => …); await op.stop();
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Provider from 'oidc-provider';
import { createPki } from '../sandbox/ca.ts';

export interface OpAccount {
  email: string;
  email_verified?: boolean;
  groups?: string[];
}

export interface TestOp {
  issuer: string;
  caPem: string;
  caFile: string;
  clientId: string;
  secretFile: string;
  /** Signs claims with the OP's own key (the token is as valid as the OP's, unless the claims are not). */
  signIdToken(claims: Record<string, unknown>): string;
  /** Replaces the id_token of the token endpoint's next answers; null: the OP's own again. */
  rewriteIdToken(rewrite: ((jwt: string, claims: Record<string, unknown>) => string) | null): void;
  /** The ID tokens the OP issued, in order. */
  issued: string[];
  stop(): Promise<void>;
}

const KID = 'test-op-key';

export function claimsOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8'));
}

function signJwt(key: KeyObject, claims: Record<string, unknown>): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${part({ alg: 'RS256', kid: KID, typ: 'JWT' })}.${part(claims)}`;
  return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`;
}

export async function startOp(o: {
  dir: string;
  redirectUri: string;
  postLogoutRedirectUri: string;
  accounts: Record<string, OpAccount>;
}): Promise<TestOp> {
  const pki = await createPki(join(o.dir, 'op-pki'));
  const caFile = join(o.dir, 'op-ca.crt');
  await writeFile(caFile, pki.caPem);
  const clientSecret = 'test-client-secret-0123456789abcdef';
  const secretFile = join(o.dir, 'client-secret');
  await writeFile(secretFile, `${clientSecret}\n`, { mode: 0o600 });
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: KID, use: 'sig', alg: 'RS256' };

  const server: Server = createServer({ cert: pki.server.cert, key: pki.server.key });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  // `localhost`, not the recorder's 127.0.0.1: another site to the browser, as an identity provider
  // is in production (cookies with SameSite=Strict are not sent on its redirects back).
  const issuer = `https://localhost:${(server.address() as AddressInfo).port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'audited-exec',
        client_secret: clientSecret,
        redirect_uris: [o.redirectUri],
        post_logout_redirect_uris: [o.postLogoutRedirectUri],
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
    jwks: { keys: [jwk as never] },
    // The groups claim in the ID token itself, as kube-apiserver reads it.
    conformIdTokenClaims: false,
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['groups'] },
    async findAccount(_ctx, sub) {
      const a = o.accounts[sub];
      if (!a) return undefined;
      return {
        accountId: sub,
        claims: async () => ({ sub, email_verified: true, groups: [], ...a }),
      };
    },
    cookies: { keys: ['test-op-cookie-key'] },
    // Set, not defaulted: oidc-provider prints a notice for every default lifetime it uses.
    ttl: {
      AccessToken: 3600,
      AuthorizationCode: 60,
      Grant: 3600,
      IdToken: 3600,
      Interaction: 600,
      Session: 3600,
    },
    features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
  });
  const state: {
    rewrite: ((jwt: string, claims: Record<string, unknown>) => string) | null;
    issued: string[];
  } = { rewrite: null, issued: [] };
  provider.use(async (ctx, next) => {
    await next();
    const body = ctx.body as { id_token?: string } | undefined;
    if (ctx.path !== '/token' || typeof body?.id_token !== 'string') return;
    state.issued.push(body.id_token);
    if (state.rewrite)
      ctx.body = { ...body, id_token: state.rewrite(body.id_token, claimsOf(body.id_token)) };
  });
  server.on('request', provider.callback());
  return {
    issuer,
    caPem: pki.caPem,
    caFile,
    clientId: 'audited-exec',
    secretFile,
    signIdToken: (claims) => signJwt(privateKey, claims),
    rewriteIdToken(rewrite) {
      state.rewrite = rewrite;
    },
    issued: state.issued,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
