// Browser sign-in cost at the recorder: the OIDC callback (code exchange with PKCE, ID token
// signature and claims checked, web session stored) against the token form's POST (TokenReview,
// web session stored), both on one recorder started with --oidc-* flags, in the same run. The OP is
// oidc-provider in this process (it is part of the callback's path, as an IdP is); its login and
// consent pages are not timed: they are the IdP's, and the user's.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { throughOp } from '../test/support/oidc-flow.ts';
import { startOp } from '../test/support/oidc-op.ts';
import { freePort } from '../test/support/ports.ts';
import { rawRequest } from '../test/support/raw-https.ts';
import { spawnRecorder } from '../test/support/recorder.ts';
import type { BenchResult } from './result.ts';
import type { SandboxProcess } from './sandbox-process.ts';
import { round, summarize } from './stats.ts';

export async function signInBench(o: {
  sandbox: SandboxProcess;
  signIns: number;
  log: (l: string) => void;
}): Promise<BenchResult> {
  const dir = await mkdtemp(join(tmpdir(), 'audited-exec-bench-sign-in-'));
  const port = await freePort();
  const publicUrl = `https://127.0.0.1:${port}`;
  const op = await startOp({
    dir,
    redirectUri: `${publicUrl}/ui/oidc/callback`,
    postLogoutRedirectUri: `${publicUrl}/ui/login`,
    accounts: { olivia: { email: 'olivia@example.com', groups: ['auditors'] } },
  });
  const rec = await spawnRecorder({
    sandbox: o.sandbox,
    listen: `127.0.0.1:${port}`,
    args: [
      ...['--public-url', publicUrl, '--oidc-issuer-url', op.issuer, '--oidc-client-id', op.clientId],
      ...['--oidc-client-secret-file', op.secretFile, '--oidc-ca-file', op.caFile],
      ...['--oidc-username-claim', 'email', '--oidc-groups-claim', 'groups'],
    ],
  });
  try {
    const oidc: number[] = [];
    const token: number[] = [];
    for (let i = 0; i < o.signIns; i += 1) {
      const to = await throughOp({ recorder: rec, opCaPem: op.caPem, login: 'olivia' });
      const t0 = performance.now();
      const reply = await rawRequest(rec, 'GET', `/ui/oidc/callback${to.query}`, { Cookie: to.cookie });
      oidc.push(performance.now() - t0);
      if (reply.status !== 200) throw new Error(`OIDC callback answered ${reply.status}: ${reply.body}`);
      token.push(await tokenSignIn(rec, o.sandbox.tokens.auditor!));
    }
    const a = summarize(oidc);
    const b = summarize(token);
    return {
      name: 'sign-in',
      method: `${o.signIns} sign-ins each, alternating: OIDC callback (code exchange, ID token checks, session) vs the token form's POST (TokenReview, answers cached 10 s as configured by default)`,
      figures: {
        'oidc callback p50 ms': round(a.p50),
        'oidc callback p99 ms': round(a.p99),
        'token POST p50 ms': round(b.p50),
        'token POST p99 ms': round(b.p99),
        'ratio p50 oidc/token': round(a.p50 / b.p50),
      },
    };
  } finally {
    await rec.stop();
    await op.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The token form's POST as a browser sends it (its CSRF cookie fetched first, not timed); ms. */
async function tokenSignIn(rec: { url: string; caPem: string }, token: string): Promise<number> {
  const login = await rawRequest(rec, 'GET', '/ui/login');
  const cookie = String(login.headers['set-cookie']).split(';')[0]!;
  const form = `_csrf=${cookie.split('=')[1]}&next=%2Fui%2Fsessions&token=${encodeURIComponent(token)}`;
  const t0 = performance.now();
  const reply = await rawRequest(
    rec,
    'POST',
    '/ui/login',
    { 'Content-Type': 'application/x-www-form-urlencoded', Origin: rec.url, Cookie: cookie },
    form,
  );
  const took = performance.now() - t0;
  if (reply.status !== 303) throw new Error(`token sign-in answered ${reply.status}`);
  return took;
}
