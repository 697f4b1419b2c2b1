// The README's first command, as a new user runs it: `./run start` with no cluster brings up the
// demo; the kubectl line it prints opens a recorded shell; a command started with nohup runs after
// `exit`; the sign-in link it prints opens the session page in a real browser, where that command is
// attributed to the session and marked as having run after its end. Ctrl-C's twin, SIGTERM, stops
// it all. Everything here is what the README and the demo's own output say, not a test helper.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipE2E } from '../support/prereq.ts';
import { spawnScreen } from '../support/terminal-screen.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const ARTIFACTS = join(ROOT, 'test-artifacts/demo');

/** The README's first shell block: the two commands, alone. */
function readmeCommands(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const block = /```sh\n([\s\S]*?)```/.exec(readme)![1]!;
  return block
    .split('\n')
    .map((l) => l.replace(/#.*$/, '').trim())
    .filter(Boolean);
}

interface Running {
  child: ChildProcess;
  out(): string;
  err(): string;
  exited: Promise<number | null>;
}

function start(command: string, env: NodeJS.ProcessEnv): Running {
  // `--listen 127.0.0.1:0`: the README's default port may be taken on a shared machine.
  const child = spawn('bash', ['-c', `exec ${command} --listen 127.0.0.1:0`], { cwd: ROOT, env });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr!.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  return { child, out: () => out, err: () => err, exited };
}

/** Resolves when the demo printed how to stop it; fails with its stderr when it exits or hangs. */
function ready(d: Running, timeoutMs: number): Promise<void> {
  return new Promise((done, fail) => {
    const check = setInterval(() => {
      if (/^Stop: /m.test(d.out())) finish();
      else if (d.child.exitCode !== null) finish(`exited ${d.child.exitCode}`);
    }, 200);
    const deadline = setTimeout(() => finish(`not ready in ${timeoutMs / 1000} s`), timeoutMs);
    function finish(problem?: string) {
      clearInterval(check);
      clearTimeout(deadline);
      if (problem) fail(new Error(`./run start ${problem}; stderr:\n${d.err()}\nstdout:\n${d.out()}`));
      else done();
    }
  });
}

describe.skipIf(skipE2E('demo', 'root', 'runc', 'auditd', 'chromium', 'kubectl'))(
  'README: ./run start with no cluster',
  () => {
    const home = mkdtempSync(join(tmpdir(), 'demo-home-'));
    // A user with no cluster: no KUBECONFIG, no ~/.kube/config.
    // AUDITED_EXEC_NO_INSTALL: the set-up may check node_modules but never reinstall them under
    // the running test runner (a tree that differs from the lock fails the test with a sentence).
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      HOME: home,
      TERM: 'xterm-256color',
      AUDITED_EXEC_NO_INSTALL: '1',
    };
    delete env.KUBECONFIG;
    delete env.AUDITED_EXEC_KUBECONFIG;
    let demo: Running | undefined;
    let browser: Browser | undefined;

    beforeAll(async () => {
      mkdirSync(ARTIFACTS, { recursive: true });
      browser = await chromium.launch({
        executablePath: '/usr/bin/chromium',
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
      });
    });

    afterAll(async () => {
      await browser?.close();
      // A failed test still stops the demo the way a user would, so its audit rules go too.
      if (demo && demo.child.exitCode === null) {
        demo.child.kill('SIGTERM');
        const killer = setTimeout(() => demo?.child.kill('SIGKILL'), 30_000);
        await demo.exited;
        clearTimeout(killer);
      }
      rmSync(home, { recursive: true, force: true });
    });

    it('the README starts with the two commands, alone', () => {
      const commands = readmeCommands();
      expect(commands).toHaveLength(2);
      expect(commands[0]).toBe('./run start');
      expect(commands[1]).toBe('./run test');
    });

    it('records a pasted session, attributes a command run after exit, shows it signed in, and stops', async () => {
      const [startCommand] = readmeCommands();
      demo = start(startCommand!, env);
      const d = demo;
      await ready(d, 240_000);
      expect(d.out()).toContain('auditd and the node shim');
      const signInUrl = /https:\/\/\S+\/ui\/login\/link\/\S+/.exec(d.out())![0];
      const kubectlLine = /^\s*(PATH=\S+ KUBECONFIG=\S+ kubectl audited-exec \S+ -it -- bash)$/m.exec(
        d.out(),
      )![1]!;

      // The pasted line, in a terminal.
      const tag = `${process.pid}-${Date.now()}`;
      const late = `/tmp/after-exit-${tag}`;
      const t = spawnScreen('bash', ['-c', kubectlLine], { cols: 100, rows: 30, env, deadlineMs: 60_000 });
      try {
        await t.waitFor(/[#$] $/);
        // \r+: the sandbox's `runc exec -t` sometimes sends \r\r\n (test/e2e/exec.test.ts says why).
        await t.type(`echo demo-$((6*7))\r`, /demo-42\r+\n.*[#$] $/s);
        await t.type('uname -s\r', /Linux\r+\n.*[#$] $/s);
        await t.type(`nohup sh -c 'sleep 3; touch ${late}' >/dev/null 2>&1 &\r`, /[#$] $/);
        t.write('exit\r');
        expect(await t.exited).toBe(0);
      } finally {
        t.kill();
      }

      // The printed link signs the browser in; the session page shows the late command.
      const context = await browser!.newContext({
        ignoreHTTPSErrors: true,
        viewport: { width: 1366, height: 800 },
      });
      const page = await context.newPage();
      await page.goto(signInUrl);
      expect(new URL(page.url()).pathname).toBe('/ui/sessions');
      expect(await page.locator('header').textContent()).toContain('auditor');
      const row = page.locator('tbody tr').filter({ hasText: 'alice' }).first();
      await expect.poll(() => row.count(), { timeout: 30_000 }).toBe(1);
      await page.screenshot({ path: join(ARTIFACTS, '1-sessions.png') });
      await Promise.all([
        page.waitForURL(/\/ui\/sessions\/[0-9a-f-]{36}$/),
        row.locator('a').first().click(),
      ]);
      const entry = (label: string) =>
        page
          .locator('#timeline li')
          .filter({ has: page.locator('code', { hasText: new RegExp(`^${label}$`) }) });
      const lateEntry = entry(`touch ${late}`);
      await expect
        .poll(
          async () => {
            if ((await lateEntry.count()) === 0) await page.reload();
            return lateEntry.count();
          },
          { timeout: 90_000, interval: 2000 },
        )
        .toBe(1);
      expect(await lateEntry.locator('.badge.after-end').count()).toBe(1);
      const typed = entry('uname -s');
      expect(await typed.count()).toBe(1);
      expect(await typed.locator('.badge').count()).toBe(0);
      // A click seeks to the frame that shows the command line (its echo lands just after the exec).
      const button = typed.locator('button');
      const seek = Number(await button.getAttribute('data-seek'));
      expect(seek).toBeGreaterThanOrEqual(Number(await button.getAttribute('data-t')));
      await page.waitForFunction(
        () => (window as unknown as { __aePlayer?: unknown }).__aePlayer !== undefined,
      );
      await button.click();
      const shown = () => page.locator('.ap-term').textContent();
      const deadline = Date.now() + 20_000;
      while (!/[#$] uname -s/.test((await shown()) ?? '') && Date.now() < deadline)
        await page.waitForTimeout(200);
      const at = await page.evaluate(() =>
        (window as unknown as { __aePlayer: { getCurrentTime(): number } }).__aePlayer.getCurrentTime(),
      );
      expect(
        await shown(),
        `seek ${seek}, t ${await button.getAttribute('data-t')}, player at ${at}`,
      ).toMatch(/[#$] uname -s/);
      await page.screenshot({ path: join(ARTIFACTS, '2-session.png'), fullPage: true });
      // The link worked once: opened again, it is refused.
      const again = await context.newPage();
      const refused = await again.goto(signInUrl);
      expect(refused?.status()).toBe(410);
      await context.close();

      // Ctrl-C's twin: everything stops, the rules the demo loaded go with it.
      d.child.kill('SIGTERM');
      expect(await d.exited).toBe(0);
      expect(d.err()).toMatch(/stopped; the recordings stay in/);
      expect(execFileSync('auditctl', ['-l'], { encoding: 'utf8' })).not.toContain('audited-exec-demo');
    }, 420_000);
  },
);
