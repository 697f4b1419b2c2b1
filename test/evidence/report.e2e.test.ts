// report.html from a real bundle, opened from file:// in headless Chromium with every non-file
// request aborted: the inlined player must render the recording and seek on a command click.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FILES } from '../../common/evidence/format.ts';
import { readTarGz } from '../../common/evidence/tar.ts';
import { createEvidence } from '../../server/evidence/evidence.ts';
import { loadPlayerAssets } from '../../server/evidence/player-assets.ts';
import { skipE2E } from '../support/prereq.ts';
import { bundleBytes, memoryKey, SESSION_ID, seededStore } from './fixture.ts';

const artifacts = join(import.meta.dirname, '../../test-artifacts/evidence');

describe.skipIf(skipE2E('report.html in chromium', 'chromium'))('report.html in chromium', () => {
  let browser: Browser | undefined;
  let page: Page;
  const blocked: string[] = [];
  const errors: string[] = [];

  beforeAll(async () => {
    const evidence = createEvidence({
      store: seededStore(),
      key: memoryKey(),
      player: await loadPlayerAssets(),
    });
    const files = readTarGz(await bundleBytes(evidence.bundle(SESSION_ID)));
    mkdirSync(artifacts, { recursive: true });
    const path = join(artifacts, 'report.html');
    writeFileSync(path, files.get(FILES.report)!);
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--headless',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
      ],
    });
    const context = await browser.newContext({ viewport: { width: 1100, height: 1200 } });
    await context.route('**', (r) => {
      if (r.request().url().startsWith('file:')) return r.continue();
      blocked.push(r.request().url());
      return r.abort();
    });
    page = await context.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(`file://${path}`);
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('renders metadata, the command list and the player with the recorded text, offline', async () => {
    await expect.poll(() => page.locator('.ap-player').count()).toBe(1);
    await expect.poll(() => page.locator('.ap-term').textContent(), { timeout: 10_000 }).toMatch(/./);
    expect(await page.locator('table.meta').textContent()).toMatch(/alice@example\.com[\s\S]*INC-4711/);
    const commands = page.locator('#commands button[data-at]');
    expect(await commands.count()).toBe(8);
    expect(await commands.nth(2).textContent()).toBe('id -un');
    expect(await page.locator('#commands tr.alert').textContent()).toMatch(/marker-conflict/);
    expect(blocked).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('seeks the player when a command is clicked', async () => {
    const now = () =>
      page.evaluate(() =>
        (
          window as unknown as { auditedExecPlayer: { getCurrentTime(): number } }
        ).auditedExecPlayer.getCurrentTime(),
      );
    expect(await now()).toBeLessThan(0.5);
    // `cat /etc/os-release` ran 3.01 s into the recording; its output is on screen after the seek.
    await page.locator('#commands button', { hasText: 'cat /etc/os-release' }).click();
    await expect.poll(now).toBeGreaterThan(2.9);
    expect(await now()).toBeLessThan(3.5);
    await expect
      .poll(() => page.locator('.ap-term').textContent())
      .toMatch(/hello from the recorded shell[\s\S]*\/etc\/hostname/);
    await page.screenshot({ path: join(artifacts, 'report.png'), fullPage: true });
  });
});
