// A browser session is only as good as the token that opened it: a revoked token ends the session
// at its next review, and repeated failed sign-ins from one address are slowed down. Real sandbox
// apiserver (TokenReview) and a real recorder; no browser needed, the requests are the browser's.
import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionCreateResponse } from '../../common/wire.ts';
import { defaultPolicy, type Sandbox, startSandbox } from '../sandbox/index.ts';
import { call, runStream } from '../server/client.ts';
import { type RawReply, rawRequest } from '../support/raw-https.ts';
import { type RecorderHandle, startRecorder } from '../support/recorder.ts';

describe('browser sign-in re-review and throttling', () => {
  let sb: Sandbox;
  let rec: RecorderHandle;

  beforeAll(async () => {
    sb = await startSandbox({ runtime: 'pty', log: () => {} });
    // Review on every request and trust no cached TokenReview answer: revocation shows at once.
    rec = await startRecorder({ sandbox: sb, settings: { webSessionReviewMs: 1, tokenCacheMs: 0 } });
  }, 60_000);
  afterAll(async () => {
    await rec?.stop();
    await sb?.stop();
  });

  const send = (
    method: string,
    path: string,
    headers: Record<string, string> = {},
    body?: string,
    to: RecorderHandle = rec,
  ) => rawRequest(to, method, path, headers, body);

  /** The sign-in form's POST exactly as a browser sends it; returns the reply. */
  const postToken = async (token: string, to: RecorderHandle = rec): Promise<RawReply> => {
    const login = await send('GET', '/ui/login', {}, undefined, to);
    const loginCookie = String(login.headers['set-cookie']).split(';')[0]!;
    const csrf = loginCookie.split('=')[1]!;
    return send(
      'POST',
      '/ui/login',
      {
        'Content-Type': 'application/x-www-form-urlencoded',
        Origin: `https://${new URL(to.url).host}`,
        Cookie: loginCookie,
      },
      `_csrf=${csrf}&next=%2Fui%2Fsessions&token=${encodeURIComponent(token)}`,
      to,
    );
  };

  const signIn = async (token: string): Promise<string> => {
    const ok = await postToken(token);
    expect(ok.status).toBe(303);
    const cookie = ([] as string[])
      .concat(ok.headers['set-cookie'] ?? [])
      .find((c) => c.startsWith('__Host-ae_session='));
    return cookie!.split(';')[0]!;
  };

  it('ends the browser session once its token is revoked, and keeps it while the token is good', async () => {
    const token = sb.serviceAccountToken({
      namespace: 'default',
      name: 'ui-reviewer',
      expirationSeconds: 3600,
    });
    const cookie = await signIn(token);
    // Each of these requests re-reviewed the token (interval 1 ms) and was let through.
    expect((await send('GET', '/ui/sessions', { Cookie: cookie })).status).toBe(200);
    expect((await send('GET', '/ui/sessions', { Cookie: cookie })).status).toBe(200);

    sb.revokeToken(token);
    const after = await send('GET', '/ui/sessions', { Cookie: cookie });
    expect(after.status).toBe(303);
    expect(after.headers.location).toBe('/ui/login?next=%2Fui%2Fsessions');
    // The session is gone, not just refused once: JSON clients get 401.
    const json = await send('GET', '/ui/sessions', { Cookie: cookie, Accept: 'application/json' });
    expect(json.status).toBe(401);
    // A revoked token cannot sign in again either.
    expect((await postToken(token)).status).toBe(401);
  });

  it("ends a live view whose viewer's token is revoked while the session runs", async () => {
    const token = sb.serviceAccountToken({ namespace: 'default', name: 'ui-live', expirationSeconds: 3600 });
    const owner = { token };
    // Exec rights for this service account (automation users sign in with such tokens too).
    const policy = defaultPolicy();
    policy.rules.push({
      users: ['system:serviceaccount:default:ui-live'],
      verbs: ['get', 'create'],
      apiGroups: [''],
      resources: ['pods', 'pods/exec'],
      namespaces: ['default'],
    });
    sb.setRbac(policy);
    const created = await call<SessionCreateResponse>(rec, owner, 'POST', '/api/v1/sessions', {
      kind: 'exec',
      namespace: 'default',
      pod: 'web',
      tty: false,
      stdin: false,
      command: ['sh', '-c', 'i=0; while [ $i -lt 100 ]; do echo tick $i; i=$((i+1)); sleep 0.1; done'],
    });
    expect(created.status, created.text).toBe(201);
    // The session runs on the recorder's own credentials; its owner watches it live in the browser.
    const running = runStream(rec, owner, created.body.streamPath);
    const cookie = await signIn(token);
    const live = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
      const req = request(
        new URL(`/ui/sessions/${created.body.id}/live`, rec.url),
        { ca: rec.caPem, headers: { Cookie: cookie, Accept: 'text/event-stream' } },
        resolve,
      );
      req.on('error', reject);
      req.end();
    });
    expect(live.statusCode).toBe(200);
    let text = '';
    const ended = new Promise<void>((resolve) => live.on('end', resolve));
    await new Promise<void>((resolve) =>
      live.on('data', (c: Buffer) => {
        text += c.toString();
        if (text.includes('tick')) resolve();
      }),
    );
    sb.revokeToken(token);
    await ended; // within the recheck interval (here: the next second)
    expect(text).not.toContain('event: done');
    // The reconnect the player would make is refused.
    const again = await send('GET', `/ui/sessions/${created.body.id}/live`, { Cookie: cookie });
    expect(again.status).toBe(401);
    // The session itself was not touched: it runs on until its command ends.
    const result = await running;
    expect(result.exitCode).toBe(0);
  }, 60_000);

  it('slows down an address after ten failed sign-ins, even for a good token', async () => {
    // Its own recorder: the other test's refused sign-in counts against this address too.
    const fresh = await startRecorder({ sandbox: sb });
    try {
      for (let i = 0; i < 10; i++) {
        const bad = await postToken(`not-a-token-${i}`, fresh);
        expect(bad.status).toBe(401);
        expect(bad.body).toContain('The cluster did not accept this token.');
      }
      await checkLimited(fresh);
    } finally {
      await fresh.stop();
    }
  });

  const checkLimited = async (to: RecorderHandle) => {
    const limited = await postToken(sb.tokens.auditor!, to);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.body).toMatch(/Too many failed sign-ins from your address; try again in \d+ s\./);
    expect(limited.headers['set-cookie']).not.toEqual(
      expect.arrayContaining([expect.stringMatching(/^__Host-ae_session=/)]),
    );
  };
});
