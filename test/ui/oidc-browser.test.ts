// Sign-in with SSO in real Chromium: the recorder's sign-in page, the OP's own login and consent
// pages (oidc-provider's), back to the UI with the name and groups the apiserver's claim rules give;
// SubjectAccessReview decides what each user sees; sign-out ends the session here and at the OP.
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipE2E } from '../support/prereq.ts';
import { rawRequest } from '../support/raw-https.ts';
import { type OidcRig, ssoSignIn, startOidcRig } from './oidc-rig.ts';

describe.skipIf(skipE2E('oidc browser', 'chromium'))('SSO sign-in in Chromium', () => {
  let rig: OidcRig;
  let browser: Browser;

  beforeAll(async () => {
    rig = await startOidcRig({ runtime: 'pty' });
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
    });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await rig?.stop();
  });

  const signIn = (login: string): Promise<Page> => ssoSignIn(browser, rig, login);

  it('olivia signs in at the OP and sees who she is, her groups, and the session RBAC lets her read', async () => {
    const page = await signIn('olivia');
    await expect.poll(() => page.textContent('.signout .who')).toBe('olivia@example.com');
    expect(await page.getAttribute('.signout .who', 'title')).toBe(
      'Signed in as olivia@example.com, groups: oidc:auditors, system:authenticated',
    );
    await page.locator(`a[href="/ui/sessions/${rig.sessionId}"]`).first().waitFor();
    await page.context().close();
  });

  it('mallory signs in too, and SAR hides the session from her', async () => {
    const page = await signIn('mallory');
    await expect.poll(() => page.textContent('.signout .who')).toBe('mallory@example.com');
    expect(await page.content()).not.toContain(rig.sessionId);
    const direct = await page.goto(`${rig.rec.url}/ui/sessions/${rig.sessionId}`);
    expect(direct?.status()).toBe(403);
    await page.context().close();
  });

  it('sign-out ends the session at the recorder (the old cookie is refused) and at the OP', async () => {
    const page = await signIn('olivia');
    const cookie = (await page.context().cookies()).find((c) => c.name === '__Host-ae_session')!;
    expect(cookie).toBeDefined();
    await Promise.all([page.waitForURL((u) => u.origin === rig.op.issuer), page.click('.signout button')]);
    // The OP asks before it ends its own session, then sends the browser back to the sign-in page.
    await page.click('button[name=logout]');
    await page.waitForURL((u) => u.origin === rig.rec.url && u.pathname === '/ui/login', { timeout: 30_000 });
    const old = await rawRequest(rig.rec, 'GET', '/ui/sessions', {
      Cookie: `${cookie.name}=${cookie.value}`,
      Accept: 'application/json',
    });
    expect(old.status).toBe(401);
    // Signed out at the OP as well: SSO asks for the login again instead of signing straight in.
    await Promise.all([page.waitForURL((u) => u.origin === rig.op.issuer), page.click('#sso')]);
    await page.locator('input[name=login]').waitFor();
    await page.context().close();
  });
});
