// The OIDC sign-in tests' world: a sandbox cluster, a real OP (test/support/oidc-op.ts) and a recorder
// signing browsers in there, with one recorded session (alice's) for the UI to show or hide.
// Claim mapping as a cluster would set its apiserver: --oidc-username-claim=email,
// --oidc-groups-claim=groups, --oidc-groups-prefix=oidc: ; RBAC lets the group oidc:auditors read
// sessions, so olivia (in it) sees alice's session and mallory (not) does not.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { expect } from 'vitest';
import { defaultPolicy, type RbacRule, type Sandbox, startSandbox } from '../sandbox/index.ts';
import { createExecSession, runStream } from '../server/client.ts';
import { type OpAccount, startOp, type TestOp } from '../support/oidc-op.ts';
import { freePort } from '../support/ports.ts';
import { type RecorderHandle, startRecorder } from '../support/recorder.ts';

export interface OidcRig {
  sb: Sandbox;
  op: TestOp;
  rec: RecorderHandle;
  /** alice's finished session */
  sessionId: string;
  stop(): Promise<void>;
}

export interface OidcRigOptions {
  runtime: 'pty' | 'runc';
  /** more people at the OP, beside olivia, mallory and unverified */
  accounts?: Record<string, OpAccount>;
  /** more RBAC rules, beside oidc:auditors reading sessions */
  rules?: RbacRule[];
}

export async function startOidcRig(o: OidcRigOptions): Promise<OidcRig> {
  const dir = await mkdtemp(join(tmpdir(), 'audited-exec-oidc-'));
  const sb = await startSandbox({ runtime: o.runtime, log: () => {} });
  const policy = defaultPolicy();
  policy.rules.push(
    {
      groups: ['oidc:auditors'],
      verbs: ['get', 'list'],
      apiGroups: ['audited-exec.io'],
      resources: ['sessions'],
    },
    ...(o.rules ?? []),
  );
  sb.setRbac(policy);
  // The redirect URI registered at the OP is the public URL's: the recorder's port is chosen first.
  const port = await freePort();
  const publicUrl = `https://127.0.0.1:${port}`;
  const op = await startOp({
    dir,
    redirectUri: `${publicUrl}/ui/oidc/callback`,
    postLogoutRedirectUri: `${publicUrl}/ui/login`,
    accounts: {
      olivia: { email: 'olivia@example.com', groups: ['auditors'] },
      mallory: { email: 'mallory@example.com', groups: ['interns'] },
      unverified: { email: 'eve@example.com', email_verified: false },
      ...o.accounts,
    },
  });
  const rec = await startRecorder({
    sandbox: sb,
    settings: {
      port,
      publicUrl,
      oidc: {
        issuerUrl: op.issuer,
        clientId: op.clientId,
        clientSecretFile: op.secretFile,
        caFile: op.caFile,
        usernameClaim: 'email',
        groupsClaim: 'groups',
        groupsPrefix: 'oidc:',
        scopes: ['openid', 'profile', 'email'],
      },
    },
  });
  const created = await createExecSession(
    rec,
    { token: sb.tokens.alice! },
    { command: ['sh', '-c', 'echo hello from alice'] },
  );
  expect(created.status, created.text).toBe(201);
  expect((await runStream(rec, { token: sb.tokens.alice! }, created.body.streamPath)).exitCode).toBe(0);
  return {
    sb,
    op,
    rec,
    sessionId: created.body.id,
    async stop() {
      await rec.stop();
      await op.stop();
      await sb.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** From a page of the UI that needs sign-in, through the OP's login and consent, back to the UI. */
export async function ssoSignIn(browser: Browser, rig: OidcRig, login: string): Promise<Page> {
  // Both the recorder's and the OP's certificates are from test CAs.
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  await page.goto(`${rig.rec.url}/ui/sessions`);
  expect(new URL(page.url()).pathname).toBe('/ui/login');
  await Promise.all([page.waitForURL((u) => u.origin === rig.op.issuer), page.click('#sso')]);
  await page.fill('input[name=login]', login);
  await page.fill('input[name=password]', 'any password');
  await Promise.all([page.waitForURL(/\/interaction\//), page.click('button[type=submit]')]);
  // The consent page, then the callback, whose page moves on to where the sign-in began.
  await page.click('button[type=submit]');
  await page.waitForURL(`${rig.rec.url}/ui/sessions`, { timeout: 30_000 });
  return page;
}
