// The live view's Terminate button, end to end: real sandbox apiserver (runc pods), real recorder,
// real Chromium. alice's session runs; the auditor (get/list only) sees it live without the button
// and is refused by the endpoint (form and API); the moderator presses Terminate, is asked to
// confirm, and alice's stream ends with who and why.
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { terminationOf } from '../../common/termination.ts';
import type { SessionRecord } from '../../common/wire.ts';
import { type Sandbox, startSandbox } from '../sandbox/index.ts';
import { call, createExecSession, runStream, type StreamResult } from '../server/client.ts';
import { skipE2E } from '../support/prereq.ts';
import { type RecorderHandle, startRecorder } from '../support/recorder.ts';
import { postTerminateForm } from '../support/terminate-form.ts';

describe.skipIf(skipE2E('ui terminate e2e', 'root', 'runc', 'chromium'))(
  'terminating from the web UI',
  () => {
    let sb: Sandbox;
    let rec: RecorderHandle;
    let browser: Browser;
    let id: string;
    let stream: Promise<StreamResult>;

    const signIn = async (context: BrowserContext, token: string): Promise<Page> => {
      const page = await context.newPage();
      await page.goto(`${rec.url}/ui/sessions`);
      await page.fill('#token', token);
      await Promise.all([page.waitForURL(/\/ui\/sessions/), page.click('button[type=submit]')]);
      return page;
    };

    const state = async () =>
      (await call<SessionRecord>(rec, { token: sb.tokens.auditor! }, 'GET', `/api/v1/sessions/${id}`)).body
        .state;

    beforeAll(async () => {
      sb = await startSandbox({ runtime: 'runc', log: () => {} });
      rec = await startRecorder({ sandbox: sb });
      browser = await chromium.launch({
        executablePath: '/usr/bin/chromium',
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
      });
      const created = await createExecSession(
        rec,
        { token: sb.tokens.alice! },
        { command: ['sh', '-c', 'while :; do echo tick; sleep 1; done'] },
      );
      expect(created.status).toBe(201);
      id = created.body.id;
      let ticked!: () => void;
      const running = new Promise<void>((r) => (ticked = r));
      stream = runStream(rec, { token: sb.tokens.alice! }, created.body.streamPath, {
        onStdout: () => ticked(),
      });
      await running;
    }, 120_000);

    afterAll(async () => {
      await browser?.close();
      await rec?.stop();
      await sb?.stop();
    });

    it('shows no button to an auditor, and the endpoint refuses them (form and API)', async () => {
      const context = await browser.newContext({ ignoreHTTPSErrors: true });
      try {
        const page = await signIn(context, sb.tokens.auditor!);
        await page.goto(`${rec.url}/ui/sessions/${id}`);
        expect(await page.locator('#live-badge').textContent()).toBe('LIVE');
        expect(await page.locator('#terminate-form').count()).toBe(0);
        // The form as a moderator's page would send it, with the auditor's own valid CSRF token.
        const answer = await postTerminateForm(page, id, 'not mine to end');
        expect(answer.status).toBe(403);
        expect(answer.body.details.causes[0].reason).toBe('SESSION_TERMINATE_FORBIDDEN');
        const api = await call(
          rec,
          { token: sb.tokens.auditor! },
          'POST',
          `/api/v1/sessions/${id}/terminate`,
          {
            reason: 'not mine to end',
          },
        );
        expect(api.status).toBe(403);
        expect(api.text).toContain('auditor may not terminate session');
        expect(await state()).toBe('running');
      } finally {
        await context.close();
      }
    });

    it('lets a moderator terminate after confirming; alice reads who and why', async () => {
      const context = await browser.newContext({ ignoreHTTPSErrors: true });
      try {
        const page = await signIn(context, sb.tokens.moderator!);
        await page.goto(`${rec.url}/ui/sessions/${id}`);
        await page.fill('#terminate-reason', 'INC-9: <b>loop</b> on web');
        // Declining the confirmation sends nothing.
        page.once('dialog', (d) => void d.dismiss());
        await page.click('#terminate-form button[type=submit]');
        expect(await state()).toBe('running');
        let asked = '';
        page.once('dialog', (d) => {
          asked = d.message();
          void d.accept();
        });
        await Promise.all([
          page.waitForURL(new RegExp(`/ui/sessions/${id}$`)),
          page.click('#terminate-form button[type=submit]'),
        ]);
        expect(asked).toContain('INC-9: <b>loop</b> on web');
        await page.locator('.badge.terminated').waitFor();
        expect(await page.locator('#terminate-form').count()).toBe(0);
        const details = await page.locator('dl.meta').textContent();
        expect(details).toContain('Terminated by');
        expect(details).toContain('moderator');
        expect(details).toContain('INC-9: <b>loop</b> on web');

        const ended = await stream;
        const status = ended.statuses.map((s) => terminationOf(JSON.parse(s))).find(Boolean);
        expect(status).toEqual({ by: 'moderator', reason: 'INC-9: <b>loop</b> on web' });
        expect(await state()).toBe('terminated');
      } finally {
        await context.close();
      }
    }, 120_000);
  },
);
