// Sign-in: paste a Kubernetes bearer token; TokenReview checks it now and again while the session lasts.
import { html, type SafeHtml } from '../html.ts';

export interface LoginPageData {
  csrf: string;
  /** where to go after signing in (a same-site path) */
  next: string;
  error?: string;
  /** proxy sign-in is configured: say so */
  proxyHint?: boolean;
  /** sign-in at the OpenID Connect provider is configured: offer it first */
  sso?: boolean;
}

export function loginPage(d: LoginPageData): SafeHtml {
  return html`<section class="login" aria-labelledby="login-h">
<h1 id="login-h">Sign in</h1>
${d.error ? html`<p class="error" role="alert" id="login-error">${d.error}</p>` : ''}
${
  d.sso
    ? html`<p><a class="button sso" id="sso" href="/ui/oidc/start?next=${encodeURIComponent(d.next)}">Sign in with SSO</a></p>
<p>Or sign in with a token:</p>`
    : ''
}
<p>Paste a Kubernetes bearer token the cluster accepts (for example the output of
<code>kubectl create token NAME</code> or the token from your kubeconfig). It is verified with the
cluster's TokenReview and checked again every few minutes while you are signed in, so a revoked
or expired token ends the browser session. It is never written to disk.</p>
<form method="post" action="/ui/login">
  <input type="hidden" name="_csrf" value="${d.csrf}">
  <input type="hidden" name="next" value="${d.next}">
  <label for="token">Bearer token</label>
  <textarea id="token" name="token" rows="4" required autocomplete="off" spellcheck="false"${d.error ? html` aria-describedby="login-error"` : ''}></textarea>
  <button type="submit">Sign in</button>
</form>
</section>`;
}

/** A page that moves on to `to` by itself (the answer's Refresh header), with a link in case it does not. */
export function continuePage(to: string, said: string): SafeHtml {
  return html`<section class="problem"><p>${said}</p><p><a id="continue" href="${to}">Continue</a></p></section>`;
}

export function errorPage(title: string, message: string): SafeHtml {
  return html`<section class="problem"><h1>${title}</h1><p>${message}</p><p><a href="/ui/sessions">Back to sessions</a></p></section>`;
}
