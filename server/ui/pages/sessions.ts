// The sessions list: filters, one row per session, keyset "next page" link.
import type { SessionQuery, SessionRecord } from '../../../common/wire.ts';
import { kindInfo } from '../../sessions/kinds.ts';
import { formatDuration, formatTime, isLive, sessionSeconds, sessionTarget } from '../format.ts';
import { href, html, type SafeHtml } from '../html.ts';

/** The filter form's fields: the sessions query (since/until as the datetime-local inputs typed
 *  them) plus a text search over commands. */
export type SessionsQuery = Omit<SessionQuery, 'state' | 'limit'> & { q?: string };

export interface SessionsPageData {
  query: SessionsQuery;
  items: SessionRecord[];
  continue?: string;
  /** the text search could not look into shim events (not stored yet) */
  searchScope: string;
  now: number;
  /** a filter value was unusable (e.g. a bad cursor) */
  notice?: string;
}

const FILTERS: [keyof SessionsQuery, string, string][] = [
  ['user', 'User', 'text'],
  ['namespace', 'Namespace', 'text'],
  ['pod', 'Pod', 'text'],
  ['node', 'Node', 'text'],
  ['since', 'From (UTC)', 'datetime-local'],
  ['until', 'To (UTC)', 'datetime-local'],
];

function filterForm(q: SessionsQuery, searchScope: string): SafeHtml {
  return html`<form class="filters" method="get" action="/ui/sessions" role="search">
  <div class="field field-q">
    <label for="f-q">Search</label>
    <input id="f-q" name="q" type="search" value="${q.q ?? ''}" placeholder="command, reason, ticket" aria-describedby="f-q-help">
    <small id="f-q-help">${searchScope}</small>
  </div>
  ${FILTERS.map(
    ([name, label, type]) => html`<div class="field">
    <label for="f-${name}">${label}</label>
    <input id="f-${name}" name="${name}" type="${type}" value="${q[name] ?? ''}"${type === 'text' ? html` autocomplete="off" spellcheck="false"` : ''}>
  </div>`,
  )}
  <div class="field actions">
    <button type="submit">Apply</button>
    <a class="button secondary" href="/ui/sessions">Clear</a>
  </div>
</form>`;
}

function row(s: SessionRecord, now: number): SafeHtml {
  const live = isLive(s);
  const alerts = s.alertCount ?? 0;
  return html`<tr class="${live ? 'live' : ''}">
  <td class="state">${live ? html`<span class="badge live" title="recording now">LIVE</span>` : html`<span class="badge ${s.state}">${s.state}</span>`}</td>
  <td class="start"><a href="/ui/sessions/${encodeURIComponent(s.id)}"><time datetime="${s.startedAt}">${formatTime(s.startedAt)}</time></a></td>
  <td class="user">${s.user}</td>
  <td class="kind">${kindInfo(s.kind).label}</td>
  <td class="target">${sessionTarget(s)}</td>
  <td class="reason">${s.reason ?? ''}${s.ticket ? html` <span class="ticket">${s.ticket}</span>` : ''}</td>
  <td class="num">${formatDuration(sessionSeconds(s, now))}</td>
  <td class="num">${s.exitCode === undefined || s.exitCode === null ? '' : s.exitCode}</td>
  <td class="num">${s.commandCount ?? ''}</td>
  <td class="num">${alerts > 0 ? html`<span class="badge alert">${alerts}</span>` : ''}</td>
</tr>`;
}

export function sessionsPage(d: SessionsPageData): SafeHtml {
  const { continue: _c, ...rest } = d.query;
  const next = d.continue ? href('/ui/sessions', { ...rest, continue: d.continue }) : undefined;
  return html`<h1>Sessions</h1>
${filterForm(d.query, d.searchScope)}
${d.notice ? html`<p class="notice" role="status">${d.notice}</p>` : ''}
<div class="table-wrap">
<table class="sessions">
  <caption class="visually-hidden">Recorded sessions, newest first</caption>
  <thead><tr>
    <th scope="col">State</th><th scope="col">Start</th><th scope="col">User</th><th scope="col">Kind</th>
    <th scope="col">Namespace/pod or node</th><th scope="col">Reason / ticket</th><th scope="col" class="num">Duration</th>
    <th scope="col" class="num">Exit</th><th scope="col" class="num">Cmds</th><th scope="col" class="num">Alerts</th>
  </tr></thead>
  <tbody>
  ${d.items.length ? d.items.map((s) => row(s, d.now)) : html`<tr><td colspan="10" class="empty">No sessions match.</td></tr>`}
  </tbody>
</table>
</div>
<nav class="pager" aria-label="Pages">
  ${d.query.continue ? html`<a href="${href('/ui/sessions', rest)}">« Newest</a>` : ''}
  ${next ? html`<a rel="next" href="${next}">Older »</a>` : ''}
</nav>`;
}
