// Unrecorded activity: unrecorded-tty alerts (a terminal in a container that no recorded session
// owns: someone got a shell around the recorder) and unrecorded-exec alerts (a command the runtime
// exec'd into a running container outside any session, other than the pod's own probes and hooks),
// and claims on a session by a process that is not in it (marker-forged: a session marker the
// runtime did not start; session-mismatch: an event from another node or container than the
// session's), by kind/pod/node/time.
import type { UnrecordedAlert } from '../../events/store.ts';
import { formatArgv, formatTime } from '../format.ts';
import { href, html, type SafeHtml } from '../html.ts';

export interface UnrecordedQuery {
  kind?: string;
  pod?: string;
  node?: string;
  since?: string;
  until?: string;
  continue?: string;
}

export interface UnrecordedPageData {
  query: UnrecordedQuery;
  /** null: the recorder does not store node-agent alerts (yet) */
  items: UnrecordedAlert[] | null;
  continue?: string;
}

const KINDS: [string, string][] = [
  ['', 'All'],
  ['unrecorded-tty', 'Terminal (tty)'],
  ['unrecorded-exec', 'Exec (no tty)'],
  ['marker-forged', 'Forged session marker'],
  ['session-mismatch', "Claimed another node or container's session"],
];
const KIND_LABEL: Record<string, string> = {
  'unrecorded-tty': 'tty',
  'unrecorded-exec': 'exec',
  'marker-forged': 'forged marker',
  'session-mismatch': 'session mismatch',
};

/** The session a claim named, linked to its page (the viewer here may see every session). */
function claimed(a: UnrecordedAlert): SafeHtml | string {
  if ((a.alert !== 'marker-forged' && a.alert !== 'session-mismatch') || !a.declared) return '';
  return html`<br><span class="muted">claims session <a href="/ui/sessions/${encodeURIComponent(a.declared)}">${a.declared.slice(0, 8)}</a></span>`;
}

export function unrecordedPage(d: UnrecordedPageData): SafeHtml {
  const q = d.query;
  const { continue: _c, ...rest } = q;
  const field = (name: keyof UnrecordedQuery, label: string, type = 'text') =>
    html`<div class="field"><label for="u-${name}">${label}</label><input id="u-${name}" name="${name}" type="${type}" value="${q[name] ?? ''}"></div>`;
  return html`<h1>Unrecorded activity</h1>
<p class="muted">Terminals (tty) and commands exec'd into containers (exec) that belong to no recorded session, and processes that claimed a session they are not part of (forged marker, session mismatch). The pods' own exec probes and lifecycle hooks are left out.</p>
<form class="filters" method="get" action="/ui/unrecorded" role="search">
  <div class="field"><label for="u-kind">Kind</label><select id="u-kind" name="kind">${KINDS.map(
    ([value, label]) =>
      html`<option value="${value}"${(q.kind ?? '') === value ? html` selected` : ''}>${label}</option>`,
  )}</select></div>
  ${field('pod', 'Pod')}${field('node', 'Node')}${field('since', 'From (UTC)', 'datetime-local')}${field('until', 'To (UTC)', 'datetime-local')}
  <div class="field actions"><button type="submit">Apply</button><a class="button secondary" href="/ui/unrecorded">Clear</a></div>
</form>
${
  d.items === null
    ? html`<p class="notice" role="status">This recorder does not store the node agent's alerts yet.</p>`
    : html`<div class="table-wrap"><table class="sessions">
  <thead><tr><th scope="col">Time</th><th scope="col">Kind</th><th scope="col">Node</th><th scope="col">Pod / container</th><th scope="col">TTY</th><th scope="col">pid</th><th scope="col">Command</th></tr></thead>
  <tbody>${
    d.items.length
      ? d.items.map(
          (
            a,
          ) => html`<tr><td><time datetime="${a.time}">${formatTime(a.time)}</time></td><td>${KIND_LABEL[a.alert] ?? a.alert}${claimed(a)}</td><td>${a.node ?? ''}</td>
  <td>${a.namespace && a.pod ? `${a.namespace}/${a.pod}` : (a.containerId ?? '').slice(0, 12)}</td><td>${a.tty ?? ''}</td>
  <td class="num">${a.pid}</td><td><code>${formatArgv(a.argv, 160)}</code></td></tr>`,
        )
      : html`<tr><td colspan="7" class="empty">No unrecorded activity.</td></tr>`
  }</tbody></table></div>
<nav class="pager" aria-label="Pages">${d.continue ? html`<a rel="next" href="${href('/ui/unrecorded', { ...rest, continue: d.continue })}">Older »</a>` : ''}</nav>`
}`;
}
