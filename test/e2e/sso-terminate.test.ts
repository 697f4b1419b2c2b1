// Issue 18's whole path in one run: alice's session runs under her REAL kubectl (the plugin); a
// security team signs in to the web UI through a real OpenID Provider (oidc-provider) in real
// Chromium, with groups mapped as the apiserver's --oidc-* flags would map them, and
// SubjectAccessReview decides what each person sees and may do: ivan (auditors) sees the session
// live but is refused the Terminate action; mallory (interns) does not see it at all; olivia
// (auditors + moderators) terminates it with a reason. Alice's kubectl prints who and why and exits
// non-zero; the recording carries the termination marker; the evidence bundle names it and verifies.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAsciicast } from '../../common/asciicast.ts';
import { TERMINATED_EXIT_CODE } from '../../common/termination.ts';
import type { SessionRecord } from '../../common/wire.ts';
import { RecorderClient } from '../../plugin/client.ts';
import { createPluginBin, type PluginBin, pluginUserEnv } from '../support/plugin-bin.ts';
import { KUBECTL, skipE2E } from '../support/prereq.ts';
import { runCommand } from '../support/terminal-screen.ts';
import { postTerminateForm } from '../support/terminate-form.ts';
import { type OidcRig, ssoSignIn, startOidcRig } from '../ui/oidc-rig.ts';

const SESSION_LINE = /Session ([0-9a-f-]{36}) recorded by /;
const ARTIFACTS = 'test-artifacts/sso-terminate';
const REASON = 'INC-18: runaway loop on web';

describe.skipIf(skipE2E('sso + terminate e2e', 'root', 'runc', 'chromium', 'kubectl'))(
  'SSO sign-in, SAR, and a moderator ending a session',
  () => {
    let rig: OidcRig;
    let browser: Browser;
    let bin: PluginBin;
    let dir: string;
    let caFile: string;
    let auditor: RecorderClient;
    let user: ChildProcess;
    let userOut = '';
    let userErr = '';
    let userExit: Promise<number | null>;
    let id: string;

    const envFor = (who: string): NodeJS.ProcessEnv =>
      pluginUserEnv(bin, { kubeconfig: rig.sb.kubeconfigFor(who), server: rig.rec.url, caFile, home: dir });

    beforeAll(async () => {
      mkdirSync(ARTIFACTS, { recursive: true });
      dir = mkdtempSync(join(tmpdir(), 'sso-terminate-'));
      bin = createPluginBin();
      rig = await startOidcRig({
        runtime: 'runc',
        accounts: {
          ivan: { email: 'ivan@example.com', groups: ['auditors'] },
          olivia: { email: 'olivia@example.com', groups: ['auditors', 'moderators'] },
        },
        rules: [
          {
            groups: ['oidc:moderators'],
            verbs: ['terminate'],
            apiGroups: ['audited-exec.io'],
            resources: ['sessions'],
          },
        ],
      });
      caFile = join(dir, 'recorder-ca.pem');
      writeFileSync(caFile, rig.rec.caPem);
      auditor = new RecorderClient({
        url: rig.rec.url,
        headers: { Authorization: `Bearer ${rig.sb.tokens.auditor}` },
        tls: { ca: rig.rec.caPem },
      });
      browser = await chromium.launch({
        executablePath: '/usr/bin/chromium',
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
      });
      // alice's session, from her own kubectl, running until someone ends it.
      user = spawn(
        KUBECTL,
        ['audited-exec', 'web', '--', 'sh', '-c', 'while :; do echo ready; sleep 1; done'],
        { env: envFor('alice'), stdio: ['ignore', 'pipe', 'pipe'] },
      );
      userExit = new Promise((done) => user.once('close', (code) => done(code)));
      await new Promise<void>((ready, fail) => {
        const timer = setTimeout(() => fail(new Error(`alice's session did not start: ${userErr}`)), 60_000);
        const check = () => {
          if (SESSION_LINE.test(userErr) && userOut.includes('ready')) {
            clearTimeout(timer);
            ready();
          }
        };
        user.stdout!.on('data', (c: Buffer) => {
          userOut += c;
          check();
        });
        user.stderr!.on('data', (c: Buffer) => {
          userErr += c;
          check();
        });
        void userExit.then(() => fail(new Error(`alice's kubectl exited: ${userErr}`)));
      });
      id = SESSION_LINE.exec(userErr)![1]!;
    }, 180_000);

    afterAll(async () => {
      await browser?.close();
      if (user && user.exitCode === null) user.kill('SIGKILL');
      await rig?.stop();
      bin?.remove();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('mallory (interns) signs in and SAR shows her nothing of it', async () => {
      const page = await ssoSignIn(browser, rig, 'mallory');
      expect(await page.content()).not.toContain(id);
      const direct = await page.goto(`${rig.rec.url}/ui/sessions/${id}`);
      expect(direct?.status()).toBe(403);
      await page.context().close();
    });

    it('ivan (auditors) watches it live, gets no Terminate button, and the action is refused 403', async () => {
      const page = await ssoSignIn(browser, rig, 'ivan');
      await page.goto(`${rig.rec.url}/ui/sessions/${id}`);
      expect(await page.locator('#live-badge').textContent()).toBe('LIVE');
      expect(await page.locator('#terminate-form').count()).toBe(0);
      // The same action a moderator's page sends, with ivan's own session and CSRF token.
      const answer = await postTerminateForm(page, id, 'not mine to end');
      expect(answer.status).toBe(403);
      expect(answer.body.details.causes[0].reason).toBe('SESSION_TERMINATE_FORBIDDEN');
      expect((await auditor.getSession(id)).state).toBe('running');
      await page.context().close();
    });

    it('olivia (auditors + moderators) terminates it; alice reads who and why; the trail shows it', async () => {
      const page = await ssoSignIn(browser, rig, 'olivia');
      await page.goto(`${rig.rec.url}/ui/sessions/${id}`);
      await page.fill('#terminate-reason', REASON);
      await page.screenshot({ path: join(ARTIFACTS, '1-before-terminate.png') });
      page.once('dialog', (d) => void d.accept());
      await Promise.all([
        page.waitForURL(new RegExp(`/ui/sessions/${id}$`)),
        page.click('#terminate-form button[type=submit]'),
      ]);
      await page.locator('.badge.terminated').waitFor();
      expect(await page.locator('dl.meta').textContent()).toContain('olivia@example.com');
      await page.screenshot({ path: join(ARTIFACTS, '2-terminated.png'), fullPage: true });
      await page.context().close();

      // alice's kubectl: who and why, and a non-zero exit.
      expect(await userExit).toBe(TERMINATED_EXIT_CODE);
      expect(userErr).toContain(`session terminated by olivia@example.com: "${REASON}"`);

      const record: SessionRecord = await auditor.getSession(id);
      expect(record).toMatchObject({ state: 'terminated', terminatedBy: 'olivia@example.com' });
      const cast = decodeAsciicast(await auditor.getRecording(id));
      const marker = cast.events.find((e) => e.code === 'm');
      expect(marker?.data).toContain('olivia@example.com');
      expect(marker?.data).toContain(REASON);

      // The evidence bundle names the termination and verifies against the recorder's key.
      const file = join(dir, `${id}.tar.gz`);
      const run = (args: string[]) => runCommand(KUBECTL, args, { env: envFor('auditor'), input: '' });
      const exported = await run(['audited-exec', 'export', id, '-o', file]);
      expect(exported.code, exported.stderr).toBe(0);
      const key = JSON.parse(await auditor.getText('/.well-known/audited-exec/signing-key')) as {
        fingerprint: string;
      };
      const verified = await run(['audited-exec', 'verify', file, '--fingerprint', key.fingerprint]);
      expect(verified.code, verified.stderr + verified.stdout).toBe(0);
      expect(verified.stdout).toContain(`ended by:  olivia@example.com: "${REASON}"`);
    }, 180_000);
  },
);
