// The Terminate form's POST as a moderator's page would send it, from a page of a viewer who has no
// such form: their own session cookie and CSRF token, so only the right to terminate can refuse it.
import type { Page } from 'playwright-core';

export function postTerminateForm(
  page: Page,
  sessionId: string,
  reason: string,
): Promise<{ status: number; body: { details: { causes: [{ reason: string }, ...{ reason: string }[]] } } }> {
  return page.evaluate(
    async ({ sessionId, reason }) => {
      const csrf = (document.querySelector('input[name=_csrf]') as HTMLInputElement).value;
      const res = await fetch(`/ui/sessions/${sessionId}/terminate`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ _csrf: csrf, reason }),
      });
      return { status: res.status, body: await res.json() };
    },
    { sessionId, reason },
  );
}
