// The frame every page shares: head (only external CSS/JS: the CSP forbids inline script), the
// top bar with navigation and the sign-out form.
import { html, type SafeHtml } from '../html.ts';

export interface PageChrome {
  title: string;
  /** signed-in user; absent on the sign-in page */
  user?: string;
  /** the user's groups, as SubjectAccessReview is asked with them */
  groups?: string[];
  /** CSRF token for the sign-out form */
  csrf?: string;
  /** which nav entry is current */
  nav?: 'sessions' | 'unrecorded';
  /** extra stylesheet/script URLs (same origin) */
  styles?: string[];
  scripts?: string[];
  /** classic scripts that must run before the modules (the player bundle defines a global) */
  classicScripts?: string[];
}

export const STATIC = '/ui/static';

export function layout(chrome: PageChrome, body: SafeHtml): SafeHtml {
  const current = (name: PageChrome['nav']) => (chrome.nav === name ? html` aria-current="page"` : '');
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${chrome.title} · audited-exec</title>
<link rel="stylesheet" href="${STATIC}/app.css">
${(chrome.styles ?? []).map((s) => html`<link rel="stylesheet" href="${s}">`)}
${(chrome.classicScripts ?? []).map((s) => html`<script src="${s}" defer></script>`)}
${(chrome.scripts ?? []).map((s) => html`<script type="module" src="${s}"></script>`)}
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="topbar">
  <a class="brand" href="/ui/sessions">audited-exec</a>
  ${
    chrome.user
      ? html`<nav aria-label="Main">
    <a href="/ui/sessions"${current('sessions')}>Sessions</a>
    <a href="/ui/unrecorded"${current('unrecorded')}>Unrecorded activity</a>
  </nav>
  <form class="signout" method="post" action="/ui/logout">
    <span class="who" title="${chrome.groups?.length ? `Signed in as ${chrome.user}, groups: ${chrome.groups.join(', ')}` : 'Signed in as'}">${chrome.user}</span>
    <input type="hidden" name="_csrf" value="${chrome.csrf ?? ''}">
    <button type="submit">Sign out</button>
  </form>`
      : ''
  }
</header>
<main id="main" tabindex="-1">
${body}
</main>
</body>
</html>
`;
}
