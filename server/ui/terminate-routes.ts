// POST /ui/sessions/{id}/terminate: the live view's Terminate form. Protected like every UI form
// (SameSite=Strict cookie, Origin check, the web session's CSRF token), and the right itself is
// asked again here, through the same action as the API (sessions/terminate.ts: SubjectAccessReview
// for terminate on sessions.audited-exec.io): the button's absence is a courtesy, not the check.
import { ERROR_CODES, isErrorCode } from '../../common/error-codes.ts';
import { AuditedExecError } from '../../common/errors.ts';
import type { Handler, RequestContext, Router } from '../http/router.ts';
import { terminateReason } from '../sessions/terminate.ts';
import type { UiContext, ViewerHandler } from './context.ts';
import { originOk } from './login-routes.ts';
import { sessionUrls } from './pages/session.ts';
import { readForm, redirect, sendProblem } from './respond.ts';
import { sameToken } from './security.ts';
import type { ResolvedViewer } from './viewer.ts';

export function terminateRoutes(router: Router, signedIn: (h: ViewerHandler) => Handler): void {
  router.post('/ui/sessions/:id/terminate', signedIn(terminateFromForm), { auth: false });
}

async function terminateFromForm(ctx: RequestContext, v: ResolvedViewer, ui: UiContext): Promise<void> {
  const { req, res } = ctx;
  const chrome = { user: v.user.username, ...(v.session ? { csrf: v.session.csrf } : {}) };
  const terminate = ui.deps.terminate;
  if (!terminate)
    return sendProblem(req, res, 404, 'This recorder does not end sessions from the web UI.', chrome);
  if (!originOk(req, ui.config.publicOrigins)) {
    return sendProblem(req, res, 403, 'This form was not sent from this site (Origin check failed).', chrome);
  }
  const form = await readForm(req);
  if (!form) return sendProblem(req, res, 400, 'Send the form as application/x-www-form-urlencoded.', chrome);
  if (v.session && !sameToken(form.get('_csrf'), v.session.csrf)) {
    return sendProblem(
      req,
      res,
      403,
      'The form expired or was not sent from this site; reload the page and try again.',
      chrome,
    );
  }
  const id = (ctx.params.id ?? '').toLowerCase();
  try {
    await terminate({ user: v.user, id, reason: terminateReason({ reason: form.get('reason') }) });
  } catch (err) {
    if (!(err instanceof AuditedExecError && isErrorCode(err.code))) throw err;
    const http = ERROR_CODES[err.code].http ?? 500;
    return sendProblem(req, res, http, `${sentence(err.message)}`, { ...chrome, refusal: err.code });
  }
  redirect(res, sessionUrls(id).page);
}

/** A refusal as the page's one sentence: capitalised, with its full stop. */
function sentence(message: string): string {
  const s = message.charAt(0).toUpperCase() + message.slice(1);
  return /[.!?]$/.test(s) ? s : `${s}.`;
}
