// Sign-in at a real OpenID Provider (oidc-provider over TLS) through the real client (openid-client),
// without a browser: the requests are the browser's, and the callback is sent as the test likes. What
// the OP answers is rewritten where a test needs a bad ID token: signed with the OP's own key but
// expired, for another audience or another nonce; or altered after signing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ErrorCode, errorCodeOf } from '../../common/error-codes.ts';
import { claimMapping } from '../../server/auth/oidc/claims.ts';
import { OidcClient } from '../../server/auth/oidc/client.ts';
import { setCookie, throughOp } from '../support/oidc-flow.ts';
import { claimsOf } from '../support/oidc-op.ts';
import { freePort } from '../support/ports.ts';
import { type RawReply, rawRequest } from '../support/raw-https.ts';
import { spawnRecorder } from '../support/recorder.ts';
import { type OidcRig, startOidcRig } from './oidc-rig.ts';

describe('OIDC sign-in against a real OP', () => {
  let rig: OidcRig;

  beforeAll(async () => {
    rig = await startOidcRig({ runtime: 'pty' });
  }, 120_000);
  afterAll(async () => {
    await rig?.stop();
  });

  const send = (path: string, headers: Record<string, string> = {}, method = 'GET', body?: string) =>
    rawRequest(rig.rec, method, path, headers, body);
  const through = (login: string) => throughOp({ recorder: rig.rec, opCaPem: rig.op.caPem, login });
  /** The callback as the OP redirected to it, from a browser holding `cookie`; JSON answers for refusals. */
  const callback = (query: string, cookie: string) =>
    send(`/ui/oidc/callback${query}`, { Cookie: cookie, Accept: 'application/json' });
  const refusal = (reply: RawReply): ErrorCode | undefined => errorCodeOf(JSON.parse(reply.body));
  const expectRefused = (reply: RawReply, status: number, code: ErrorCode) => {
    expect(reply.status, reply.body).toBe(status);
    expect(refusal(reply)).toBe(code);
    expect(setCookie(reply, '__Host-ae_session')).toBeUndefined();
  };

  it('signs olivia in with the apiserver-mapped name and groups; SAR lets her see the session', async () => {
    const to = await through('olivia');
    const reply = await callback(to.query, to.cookie);
    expect(reply.status, reply.body).toBe(200);
    expect(reply.headers.refresh).toBe('0;url=/ui/sessions');
    const session = setCookie(reply, '__Host-ae_session')!;
    expect(session).toBeDefined();
    const page = await send('/ui/sessions', { Cookie: session });
    expect(page.status).toBe(200);
    expect(page.body).toContain('olivia@example.com');
    expect(page.body).toContain('oidc:auditors');
    expect(page.body).toContain(rig.sessionId);
    expect((await send(`/ui/sessions/${rig.sessionId}`, { Cookie: session })).status).toBe(200);
  });

  it('signs mallory in, and SAR hides a session her groups may not read', async () => {
    const to = await through('mallory');
    const session = setCookie(await callback(to.query, to.cookie), '__Host-ae_session')!;
    const page = await send('/ui/sessions', { Cookie: session });
    expect(page.status).toBe(200);
    expect(page.body).toContain('mallory@example.com');
    expect(page.body).toContain('oidc:interns');
    expect(page.body).not.toContain(rig.sessionId);
    expect((await send(`/ui/sessions/${rig.sessionId}`, { Cookie: session })).status).toBe(403);
  });

  it('refuses a replayed callback (state used), a callback without its cookie, and another sign-in’s cookie', async () => {
    const to = await through('olivia');
    expect((await callback(to.query, to.cookie)).status).toBe(200);
    expectRefused(await callback(to.query, to.cookie), 400, 'OIDC_STATE_INVALID');
    const other = await through('olivia');
    expectRefused(await callback(other.query, ''), 400, 'OIDC_STATE_INVALID');
    expectRefused(await callback(other.query, to.cookie), 400, 'OIDC_STATE_INVALID');
    // A forged cookie (not sealed by the recorder) is nobody's sign-in either.
    expectRefused(
      await callback(other.query, '__Host-ae_oidc=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'),
      400,
      'OIDC_STATE_INVALID',
    );
    // The genuine pair still works: the refusals consumed nothing of it.
    expect((await callback(other.query, other.cookie)).status).toBe(200);
  });

  describe('ID tokens the client must refuse', () => {
    const now = () => Math.floor(Date.now() / 1000);
    beforeAll(async () => {
      // A genuine sign-in first: the replay case sends its ID token again.
      const to = await through('olivia');
      expect((await callback(to.query, to.cookie)).status).toBe(200);
    });
    const cases: [string, (jwt: string, c: Record<string, unknown>) => string, RegExp][] = [
      [
        'altered after signing',
        (jwt, c) => {
          const [h, , s] = jwt.split('.');
          const forged = Buffer.from(JSON.stringify({ ...c, email: 'admin@example.com' })).toString(
            'base64url',
          );
          return `${h}.${forged}.${s}`;
        },
        /signature/i,
      ],
      ['expired', (_, c) => rig.op.signIdToken({ ...c, iat: now() - 7200, exp: now() - 3600 }), /"exp"/],
      ['for another audience', (_, c) => rig.op.signIdToken({ ...c, aud: 'someone-else' }), /"aud"/],
      ['with another nonce', (_, c) => rig.op.signIdToken({ ...c, nonce: 'not-the-one-sent' }), /"nonce"/],
      ['from an earlier sign-in (nonce replay)', () => rig.op.issued[0]!, /"nonce"/],
    ];
    for (const [what, rewrite, why] of cases) {
      it(`refuses an ID token ${what}`, async () => {
        const to = await through('olivia');
        rig.op.rewriteIdToken(rewrite);
        try {
          const reply = await callback(to.query, to.cookie);
          expectRefused(reply, 401, 'OIDC_TOKEN_INVALID');
          expect(JSON.parse(reply.body).message).toMatch(why);
        } finally {
          rig.op.rewriteIdToken(null);
        }
      });
    }

    it('refuses an unverified e-mail as the username claim', async () => {
      const to = await through('unverified');
      expectRefused(await callback(to.query, to.cookie), 401, 'OIDC_CLAIMS_INVALID');
    });
  });

  it('shows the OP’s refusal (access_denied) as one, not as a sign-in', async () => {
    const start = await send('/ui/oidc/start');
    const state = new URL(String(start.headers.location)).searchParams.get('state')!;
    const cookie = setCookie(start, '__Host-ae_oidc')!;
    const query = `?${new URLSearchParams({ error: 'access_denied', state, iss: rig.op.issuer })}`;
    expectRefused(await callback(query, cookie), 401, 'OIDC_DENIED');
  });

  it('offers SSO on the sign-in page, token sign-in still there', async () => {
    const login = await send('/ui/login?next=%2Fui%2Funrecorded');
    expect(login.body).toContain('href="/ui/oidc/start?next=%2Fui%2Funrecorded"');
    expect(login.body).toContain('id="token"');
  });

  it('signs out at the recorder (the old cookie is refused) and sends the browser to the OP’s logout', async () => {
    const to = await through('olivia');
    const session = setCookie(await callback(to.query, to.cookie), '__Host-ae_session')!;
    const page = await send('/ui/sessions', { Cookie: session });
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
    const out = await send(
      '/ui/logout',
      { Cookie: session, Origin: rig.rec.url, 'Content-Type': 'application/x-www-form-urlencoded' },
      'POST',
      `_csrf=${encodeURIComponent(csrf)}`,
    );
    expect(out.status).toBe(200);
    const logout = new URL(String(out.headers.refresh).replace(/^0;url=/, ''));
    expect(`${logout.origin}${logout.pathname}`).toBe(`${rig.op.issuer}/session/end`);
    expect(logout.searchParams.get('client_id')).toBe(rig.op.clientId);
    expect(logout.searchParams.get('post_logout_redirect_uri')).toBe(`${rig.rec.url}/ui/login`);
    // The ID token this session signed in with, as the hint (Okta, for one, requires it).
    expect(logout.searchParams.get('id_token_hint')).toBe(rig.op.issued.at(-1));
    const after = await send('/ui/sessions', { Cookie: session, Accept: 'application/json' });
    expect(after.status).toBe(401);
  });

  it('ends the web session when the ID token expires', async () => {
    const to = await through('olivia');
    // Valid for the callback and the first page, expiring a few seconds later.
    const exp = Math.floor(Date.now() / 1000) + 8;
    rig.op.rewriteIdToken((_, c) => rig.op.signIdToken({ ...c, exp }));
    let session: string;
    try {
      session = setCookie(await callback(to.query, to.cookie), '__Host-ae_session')!;
    } finally {
      rig.op.rewriteIdToken(null);
    }
    expect(claimsOf(rig.op.issued.at(-1)!).exp).toBeGreaterThan(exp);
    expect((await send('/ui/sessions', { Cookie: session })).status).toBe(200);
    await expect
      .poll(
        async () => (await send('/ui/sessions', { Cookie: session, Accept: 'application/json' })).status,
        {
          timeout: 60_000,
          interval: 250,
        },
      )
      .toBe(401);
  }, 90_000);

  it('is configured by flags: the recorder prints the redirect URI and sends browsers to the OP', async () => {
    const port = await freePort();
    const child = await spawnRecorder({
      sandbox: rig.sb,
      listen: `127.0.0.1:${port}`,
      args: [
        ...['--public-url', `https://127.0.0.1:${port}`, '--oidc-issuer-url', rig.op.issuer],
        ...['--oidc-client-id', rig.op.clientId, '--oidc-client-secret-file', rig.op.secretFile],
        ...['--oidc-ca-file', rig.op.caFile],
      ],
    });
    try {
      expect(child.stderr()).toContain(`redirect URI https://127.0.0.1:${port}/ui/oidc/callback`);
      const start = await rawRequest(child, 'GET', '/ui/oidc/start');
      expect(start.status).toBe(303);
      const to = new URL(String(start.headers.location));
      expect(`${to.origin}${to.pathname}`).toBe(`${rig.op.issuer}/auth`);
      expect(to.searchParams.get('code_challenge_method')).toBe('S256');
      expect(to.searchParams.get('redirect_uri')).toBe(`https://127.0.0.1:${port}/ui/oidc/callback`);
    } finally {
      await child.stop();
    }
  }, 60_000);

  it('trusts the issuer only through --oidc-ca-file when its certificate is from a private CA', async () => {
    const client = (caPem?: string) =>
      new OidcClient({
        issuerUrl: rig.op.issuer,
        clientId: rig.op.clientId,
        ...(caPem ? { caPem } : {}),
        redirectUri: `${rig.rec.url}/ui/oidc/callback`,
        postLogoutRedirectUri: `${rig.rec.url}/ui/login`,
        scopes: ['openid'],
        mapping: claimMapping({ issuerUrl: rig.op.issuer, usernameClaim: 'sub' }),
      });
    await expect(client().begin()).rejects.toMatchObject({ code: 'OIDC_UNAVAILABLE' });
    // Another CA's bundle is no better than none.
    await expect(client(rig.sb.caPem).begin()).rejects.toMatchObject({ code: 'OIDC_UNAVAILABLE' });
    expect((await client(rig.op.caPem).begin()).url.origin).toBe(rig.op.issuer);
  });
});
