// End to end: real sandbox apiserver (runc pods), real recorder, real Chromium. Records sessions as
// alice, then signs in as auditor and bob through the browser.
import { mkdir, readFile } from 'node:fs/promises';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAsciicast } from '../../common/asciicast.ts';
import type { AttributedExec, SessionCreateResponse, SessionRecord, ShimEvent } from '../../common/wire.ts';
import { recordingPath } from '../../server/recording/writer.ts';
import { type Sandbox, startSandbox } from '../sandbox/index.ts';
import { call, runStream } from '../server/client.ts';
import { skipE2E } from '../support/prereq.ts';
import { rawRequest } from '../support/raw-https.ts';
import { type RecorderHandle, startRecorder } from '../support/recorder.ts';

const ARTIFACTS = 'test-artifacts/ui';

/** Raw HTTPS request (no cookie jar, no redirects followed), for header-level checks. */
const raw = (
  rec: RecorderHandle,
  method: string,
  path: string,
  headers?: Record<string, string>,
  body?: string,
) => rawRequest(rec, method, path, headers, body);

describe.skipIf(skipE2E('ui e2e', 'root', 'runc', 'chromium'))('web UI against a real recorder', () => {
  let sb: Sandbox;
  let rec: RecorderHandle;
  let browser: Browser;
  let recorded: SessionRecord;
  // The store has no shim-event table yet: the test supplies alice's attributed execs the way the
  // shim would report them (ShimEvents), through the UI's events source.
  const shimEvents = new Map<string, ShimEvent[]>();

  const shim = (session: string, argv: string[], at: number, pid: number, serial: number): ShimEvent => {
    const exec: AttributedExec = {
      session,
      attribution: pid === 1000 ? 'marker' : 'ancestry',
      argv,
      pid,
      ppid: pid === 1000 ? 999 : 1000,
      time: new Date(at).toISOString(),
      auditId: `${(at / 1000).toFixed(3)}:${serial}`,
      tty: null,
      cwd: '/',
      exe: `/usr/bin/${argv[0]}`,
      uid: 0,
    };
    return {
      seq: serial,
      node: sb.nodeName,
      bootId: 'boot',
      auditSerial: serial,
      auditTime: (at / 1000).toFixed(3),
      containerId: null,
      kind: 'exec',
      exec,
      raw: [],
    };
  };

  const createSession = async (command: string[], reason: string) => {
    const created = await call<SessionCreateResponse>(
      rec,
      { token: sb.tokens.alice! },
      'POST',
      '/api/v1/sessions',
      {
        kind: 'exec',
        namespace: 'default',
        pod: 'web',
        tty: false,
        stdin: false,
        command,
        reason,
        ticket: 'INC-4711',
      },
    );
    expect(created.status).toBe(201);
    return created.body;
  };

  const signIn = async (context: BrowserContext, token: string): Promise<Page> => {
    const page = await context.newPage();
    await page.goto(`${rec.url}/ui/sessions`);
    expect(new URL(page.url()).pathname).toBe('/ui/login');
    await page.fill('#token', token);
    await Promise.all([page.waitForURL(/\/ui\/sessions/), page.click('button[type=submit]')]);
    return page;
  };

  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    sb = await startSandbox({ log: () => {} });
    // The timeline's commands are scripted here; shim ingestion has its own end-to-end tests.
    rec = await startRecorder({
      sandbox: sb,
      events: { listEvents: async (id) => shimEvents.get(id) ?? [] },
    });
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
        '--disable-sync',
      ],
    });

    const { id, streamPath } = await createSession(
      ['bash', '-c', 'echo one; sleep 0.4; echo two; sleep 0.4; ls /; sleep 0.4; echo three'],
      'checking <b>web</b> "quotes"',
    );
    const out = await runStream(rec, { token: sb.tokens.alice! }, streamPath);
    expect(out.stdout).toContain('three');
    recorded = (await rec.recorder.store.getSession(id))!;
    // The timeline's t=0 is the recording header's second, not the session's start: the header is
    // written when the stream attaches, which on a busy machine can be a second later.
    const header = decodeAsciicast(await readFile(recordingPath(rec.dataDir, id), 'utf8')).header;
    const t0 = header.timestamp ? header.timestamp * 1000 : Date.parse(recorded.startedAt);
    shimEvents.set(id, [
      shim(
        id,
        ['bash', '-c', 'echo one; sleep 0.4; echo two; sleep 0.4; ls /; sleep 0.4; echo three'],
        t0 + 20,
        1000,
        1,
      ),
      shim(id, ['sleep', '0.4'], t0 + 40, 1001, 2),
      shim(id, ['sleep', '0.4'], t0 + 450, 1002, 3),
      shim(id, ['ls', '/'], t0 + 860, 1003, 4),
      shim(id, ['sleep', '0.4'], t0 + 870, 1004, 5),
    ]);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await rec?.stop();
    await sb?.stop();
  });

  it('redirects an unauthenticated browser to sign in, and answers API clients 401', async () => {
    const page = await browser.newPage({ ignoreHTTPSErrors: true });
    await page.goto(`${rec.url}/ui/sessions/${recorded.id}`);
    expect(new URL(page.url()).pathname).toBe('/ui/login');
    expect(new URL(page.url()).searchParams.get('next')).toBe(`/ui/sessions/${recorded.id}`);
    await page.close();
    const r303 = await raw(rec, 'GET', '/ui/sessions');
    expect(r303.status).toBe(303);
    const r401 = await raw(rec, 'GET', '/ui/sessions', { Accept: 'application/json' });
    expect(r401.status).toBe(401);
    expect(JSON.parse(r401.body)).toMatchObject({ kind: 'Status', code: 401 });
    expect((await raw(rec, 'GET', `/ui/sessions/${recorded.id}/recording.cast`)).status).toBe(401);
  });

  it('sign-in refuses a missing CSRF token and a foreign Origin; sets a strict cookie', async () => {
    const form = (csrf: string) =>
      `_csrf=${csrf}&next=%2Fui%2Fsessions&token=${encodeURIComponent(sb.tokens.auditor!)}`;
    const host = new URL(rec.url).host;
    const type = { 'Content-Type': 'application/x-www-form-urlencoded' };
    const login = await raw(rec, 'GET', '/ui/login');
    expect(login.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(login.headers['x-content-type-options']).toBe('nosniff');
    const loginCookie = String(login.headers['set-cookie']).split(';')[0]!;
    const csrf = loginCookie.split('=')[1]!;
    const noToken = await raw(
      rec,
      'POST',
      '/ui/login',
      { ...type, Origin: `https://${host}`, Cookie: loginCookie },
      form(''),
    );
    expect(noToken.status).toBe(403);
    const foreign = await raw(
      rec,
      'POST',
      '/ui/login',
      { ...type, Origin: 'https://evil.example', Cookie: loginCookie },
      form(csrf),
    );
    expect(foreign.status).toBe(403);
    const noOrigin = await raw(rec, 'POST', '/ui/login', { ...type, Cookie: loginCookie }, form(csrf));
    expect(noOrigin.status).toBe(403);
    const ok = await raw(
      rec,
      'POST',
      '/ui/login',
      { ...type, Origin: `https://${host}`, Cookie: loginCookie },
      form(csrf),
    );
    expect(ok.status).toBe(303);
    const cookies = ([] as string[]).concat(ok.headers['set-cookie'] ?? []);
    const session = cookies.find((c) => c.startsWith('__Host-ae_session='))!;
    expect(session).toMatch(/; HttpOnly/);
    expect(session).toMatch(/; Secure/);
    expect(session).toMatch(/; SameSite=Strict/);
    expect(session).toMatch(/; Max-Age=\d+/);
    expect(session).toMatch(/; Path=\//);
    // Sign-out needs the session's CSRF token too.
    const cookie = session.split(';')[0]!;
    const badLogout = await raw(
      rec,
      'POST',
      '/ui/logout',
      { ...type, Origin: `https://${host}`, Cookie: cookie },
      '_csrf=nope',
    );
    expect(badLogout.status).toBe(403);
    expect((await raw(rec, 'GET', '/ui/sessions', { Cookie: cookie })).status).toBe(200);
  });

  it('auditor filters the list, opens the session and seeks by clicking a command', async () => {
    const context = await browser.newContext({
      ignoreHTTPSErrors: true,
      viewport: { width: 1366, height: 768 },
    });
    const errors: string[] = [];
    const page = await signIn(context, sb.tokens.auditor!);
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.fill('#f-user', 'alice');
    await Promise.all([page.waitForURL(/user=alice/), page.click('form.filters button[type=submit]')]);
    const row = page.locator(`a[href="/ui/sessions/${recorded.id}"]`);
    await expect.poll(() => row.count()).toBe(1);
    expect(await page.locator('tbody tr td.user').allTextContents()).toEqual(
      expect.arrayContaining(['alice']),
    );
    expect(new Set(await page.locator('tbody tr td.user').allTextContents())).toEqual(new Set(['alice']));
    // The reason is shown as text, never as markup.
    expect(await page.locator('tbody td.reason').first().textContent()).toContain('<b>web</b>');
    await page.screenshot({ path: `${ARTIFACTS}/sessions.png`, fullPage: false });

    await Promise.all([page.waitForURL(new RegExp(`/ui/sessions/${recorded.id}$`)), row.click()]);
    await page.waitForFunction(
      () => (window as unknown as { __aePlayer?: unknown }).__aePlayer !== undefined,
    );
    const buttons = page.locator('#timeline button');
    expect(await buttons.count()).toBe(5);
    const ls = buttons.nth(3);
    expect(await ls.locator('code').textContent()).toBe('ls /');
    const t = Number(await ls.getAttribute('data-t'));
    expect(t).toBeGreaterThan(0.5);
    await ls.focus();
    await page.keyboard.press('Enter');
    await expect
      .poll(() =>
        page.evaluate(() =>
          (window as unknown as { __aePlayer: { getCurrentTime(): number } }).__aePlayer.getCurrentTime(),
        ),
      )
      .toBeCloseTo(t, 1);
    expect(await ls.getAttribute('aria-current')).toBe('step');
    await expect.poll(() => page.locator('.ap-marker').count()).toBeGreaterThanOrEqual(5);
    await page.screenshot({ path: `${ARTIFACTS}/session.png`, fullPage: false });
    expect(await page.locator('dl.meta').textContent()).toContain(recorded.id);
    expect(errors.filter((e) => /Content Security Policy|Refused/.test(e))).toEqual([]);
    await page.click('nav a[href="/ui/unrecorded"]');
    await expect.poll(() => page.locator('h1').textContent()).toBe('Unrecorded activity');
    await context.close();
  });

  it('shows a running session live', async () => {
    const { id, streamPath } = await createSession(
      ['bash', '-c', 'for i in 1 2 3 4 5; do echo tick$i; sleep 1; done'],
      'live',
    );
    const stream = runStream(rec, { token: sb.tokens.alice! }, streamPath);
    try {
      await expect
        .poll(async () => (await rec.recorder.store.getSession(id))?.state, { timeout: 10_000 })
        .toBe('running');
      const context = await browser.newContext({
        ignoreHTTPSErrors: true,
        viewport: { width: 1366, height: 768 },
      });
      const page = await signIn(context, sb.tokens.auditor!);
      expect(await page.locator(`tr.live a[href="/ui/sessions/${id}"]`).count()).toBe(1);
      await page.goto(`${rec.url}/ui/sessions/${id}`);
      expect(await page.locator('#live-badge').textContent()).toBe('LIVE');
      await page.waitForFunction(
        () => document.querySelector('.ap-term')?.textContent?.includes('tick3'),
        null,
        { timeout: 15_000 },
      );
      const text = (await page.locator('.ap-term').textContent()) ?? '';
      expect(text).toContain('tick1');
      await page.screenshot({ path: `${ARTIFACTS}/live.png` });
      await page.waitForFunction(() => document.querySelector('#live-badge')?.textContent === 'ENDED', null, {
        timeout: 15_000,
      });
      await context.close();
    } finally {
      await stream;
    }
  });

  it('the live command list follows new commands, unless the reader scrolled away', async () => {
    const { id, streamPath } = await createSession(
      ['bash', '-c', 'for ((i = 1; i <= 120; i++)); do echo tick$i; sleep 1; done'],
      'live list',
    );
    // Ends when the recorder stops (afterAll): the test needs the session running, not finished.
    void runStream(rec, { token: sb.tokens.alice! }, streamPath).catch(() => {});
    await expect
      .poll(async () => (await rec.recorder.store.getSession(id))?.state, { timeout: 20_000 })
      .toBe('running');
    let serial = 1000;
    const report = (n: number) => {
      const now = Date.now();
      const more = Array.from({ length: n }, (_, i) =>
        shim(id, ['echo', `cmd${serial}`], now + i, 2000 + serial + i, serial++),
      );
      shimEvents.set(id, [...(shimEvents.get(id) ?? []), ...more]);
    };
    const context = await browser.newContext({
      ignoreHTTPSErrors: true,
      viewport: { width: 1366, height: 768 },
    });
    const page = await signIn(context, sb.tokens.auditor!);
    const opened = await page.goto(`${rec.url}/ui/sessions/${id}`);
    expect(opened?.status()).toBe(200);
    expect(
      await page.locator('#live-badge').count(),
      JSON.stringify(await rec.recorder.store.getSession(id)),
    ).toBe(1);
    const rows = page.locator('#timeline li');
    const scroll = () =>
      page.evaluate(() => {
        const l = document.getElementById('timeline')!;
        return { top: l.scrollTop, bottom: l.scrollHeight - l.clientHeight };
      });

    // More commands than the list shows: it scrolls to the newest.
    report(40);
    await expect.poll(() => rows.count(), { timeout: 30_000 }).toBe(40);
    await expect
      .poll(async () => {
        const s = await scroll();
        return s.bottom > 0 && s.top >= s.bottom - 8;
      })
      .toBe(true);
    expect(await rows.last().textContent()).toContain(`cmd${serial - 1}`);

    // The reader scrolls up to read: new commands arrive, the list stays where they put it.
    await page.evaluate(() => {
      document.getElementById('timeline')!.scrollTop = 0;
    });
    report(5);
    await expect.poll(() => rows.count(), { timeout: 30_000 }).toBe(45);
    expect((await scroll()).top).toBe(0);
    await page.screenshot({ path: `${ARTIFACTS}/live-list-scrolled.png` });

    // Back at the end, it follows again.
    await page.evaluate(() => {
      const l = document.getElementById('timeline')!;
      l.scrollTop = l.scrollHeight;
    });
    report(5);
    await expect.poll(() => rows.count(), { timeout: 30_000 }).toBe(50);
    await expect
      .poll(async () => {
        const s = await scroll();
        return s.top >= s.bottom - 8;
      })
      .toBe(true);
    expect(await page.locator('#timeline-h').textContent()).toContain('(50)');
    await context.close();
  });

  it('bob sees neither the session in the list, nor its page, recording, events or evidence', async () => {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await signIn(context, sb.tokens.bob!);
    expect(await page.locator(`a[href="/ui/sessions/${recorded.id}"]`).count()).toBe(0);
    expect(await page.locator('tbody td.user').allTextContents()).not.toContain('alice');
    for (const suffix of ['', '/recording.cast', '/live', '/events', '/evidence']) {
      const res = await page.request.get(`${rec.url}/ui/sessions/${recorded.id}${suffix}`);
      expect(res.status(), suffix).toBe(403);
      expect(await res.text()).not.toContain('three');
    }
    expect((await page.request.get(`${rec.url}/ui/unrecorded`)).status()).toBe(403);
    await context.close();
    // The REST API applies the same rule.
    const api = await call(
      rec,
      { token: sb.tokens.bob! },
      'GET',
      `/api/v1/sessions/${recorded.id}/recording`,
    );
    expect(api.status).toBe(403);
  });
});
