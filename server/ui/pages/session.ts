// One session: the player with the command timeline beside it, metadata, alerts, downloads.
// The player is created by /ui/static/session.js from the JSON data island (no inline script).

import { MAX_TERMINATION_REASON } from '../../../common/termination.ts';
import type { AttributionAlert, SessionRecord } from '../../../common/wire.ts';
import {
  formatArgv,
  formatDuration,
  formatOffset,
  formatTime,
  isLive,
  sessionSeconds,
  sessionTarget,
} from '../format.ts';
import { html, jsonIsland, type SafeHtml } from '../html.ts';
import type { TimelineEntry } from '../timeline.ts';

export interface TimelineSectionData {
  timeline: TimelineEntry[];
  /** false when the shim's events endpoint/store is not available */
  eventsAvailable: boolean;
}

export interface SessionPageData extends TimelineSectionData {
  session: SessionRecord;
  alerts: AttributionAlert[];
  markers: [number, string][];
  now: number;
  /** present when the viewer may end this live session: the form's CSRF token */
  terminate?: { csrf: string };
}

export function sessionUrls(id: string) {
  const base = `/ui/sessions/${encodeURIComponent(id)}`;
  return {
    page: base,
    recording: `${base}/recording.cast`,
    live: `${base}/live`,
    events: `${base}/events`,
    evidence: `${base}/evidence`,
    timeline: `${base}/timeline`,
    terminate: `${base}/terminate`,
  };
}

function dl(rows: [string, SafeHtml | string | number | undefined | null][]): SafeHtml {
  return html`<dl class="meta">${rows
    .filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => html`<div><dt>${k}</dt><dd>${v}</dd></div>`)}</dl>`;
}

/** The command list with its heading; also served alone, for the live page to refresh. */
export function timelineSection(d: TimelineSectionData): SafeHtml {
  return html`<h2 id="timeline-h">Commands <span class="muted">(${d.timeline.length})</span></h2>
    ${timelineList(d)}`;
}

function timelineList(d: TimelineSectionData): SafeHtml {
  if (!d.eventsAvailable) {
    return html`<p class="muted">No command events from the node agent for this session (yet).</p>`;
  }
  if (d.timeline.length === 0) return html`<p class="muted">No commands attributed to this session.</p>`;
  return html`<ol class="timeline" id="timeline">${d.timeline.map(
    (
      e,
      i,
    ) => html`<li><button type="button" data-t="${e.t}" data-seek="${e.seek ?? e.t}" data-i="${i}" title="pid ${e.pid} · ppid ${e.ppid} · ${e.attribution ?? 'unattributed'}${e.cwd ? ` · ${e.cwd}` : ''}">
  <span class="t">${formatOffset(e.t)}</span>${entryBadge(e)}<code>${e.label}</code></button></li>`,
  )}</ol>`;
}

/** What an entry is besides a command the user typed: the session's start, or a command that ran
 *  after the session ended (its time is past the recording's end, where the list places it). */
function entryBadge(e: TimelineEntry): SafeHtml {
  if (e.start) return html`<span class="badge start">session start</span> `;
  if (e.afterEnd)
    return html`<span class="badge after-end" title="ran after the session ended">after end</span> `;
  return html``;
}

/** The live view's Terminate form: a reason, and a confirmation (session.js) before it is sent. */
function terminateForm(s: SessionRecord, t: { csrf: string }): SafeHtml {
  return html`<form class="terminate" id="terminate-form" method="post" action="${sessionUrls(s.id).terminate}">
  <input type="hidden" name="_csrf" value="${t.csrf}">
  <label for="terminate-reason">End this session now: reason (${s.user} reads it)</label>
  <input id="terminate-reason" name="reason" required maxlength="${MAX_TERMINATION_REASON}" autocomplete="off">
  <button type="submit" class="danger">Terminate</button>
</form>`;
}

function alertList(alerts: AttributionAlert[]): SafeHtml {
  if (!alerts.length) return html``;
  return html`<section class="alerts" aria-labelledby="alerts-h">
  <h2 id="alerts-h">Alerts</h2>
  <ul>${alerts.map(
    (
      a,
    ) => html`<li><span class="badge alert">${a.alert}</span> <time datetime="${a.time}">${formatTime(a.time)}</time>
    <code>${formatArgv(a.argv)}</code> <span class="muted">pid ${a.pid}${a.tty ? ` · ${a.tty}` : ''}${a.declared ? ` · declared ${a.declared}` : ''}</span></li>`,
  )}</ul>
</section>`;
}

export function sessionPage(d: SessionPageData): SafeHtml {
  const s = d.session;
  const live = isLive(s);
  const urls = sessionUrls(s.id);
  const exit =
    s.exitCode === undefined ? undefined : s.exitCode === null ? 'none (no exit status)' : String(s.exitCode);
  const data = {
    id: s.id,
    live,
    // Non-tty output has bare LF: the display variant adds CR so the terminal does not staircase.
    recordingUrl: s.tty ? urls.recording : `${urls.recording}?display=1`,
    liveUrl: urls.live,
    timelineUrl: urls.timeline,
    markers: d.markers,
  };
  return html`<div class="session-head">
  <h1>Session <code class="sid">${s.id}</code></h1>
  ${live ? html`<span class="badge live big" id="live-badge">LIVE</span>` : html`<span class="badge ${s.state}">${s.state}</span>`}
  <p class="summary">${s.user} · ${sessionTarget(s)} · <code>${formatArgv(s.command, 120)}</code></p>
</div>
${live && d.terminate ? terminateForm(s, d.terminate) : html``}
<div class="session-grid">
  <section class="player-col" aria-label="Recording">
    <div class="player-box" id="player" data-state="loading"><p class="player-loading">Loading recording…</p></div>
    <p class="downloads">
      <a href="${urls.recording}" download="${s.id}.cast">Download recording (.cast)</a>
      <a href="${urls.evidence}">Evidence bundle</a>
      <a href="${urls.events}">Events (JSON)</a>
    </p>
  </section>
  <section class="timeline-col" aria-labelledby="timeline-h" id="timeline-box">
    ${timelineSection(d)}
  </section>
</div>
${alertList(d.alerts)}
<section aria-labelledby="meta-h">
<h2 id="meta-h">Details</h2>
${dl([
  ['User', s.user],
  ['Groups', s.groups.join(', ')],
  ['UID', s.uid],
  ['Impersonated by', s.impersonator],
  ['Reason', s.reason],
  ['Ticket', s.ticket],
  ['Kind', s.kind],
  ['Namespace', s.namespace],
  ['Pod', s.pod],
  ['Container', s.container],
  ['Container ID', s.containerId],
  ['Node', s.node],
  ['Image', s.image],
  ['Command', html`<code>${formatArgv(s.command, 2000)}</code>`],
  ['TTY / stdin', `${s.tty ? 'tty' : 'no tty'} / ${s.stdin ? 'stdin' : 'no stdin'}`],
  ['State', s.state],
  ['Started', formatTime(s.startedAt)],
  ['Ended', formatTime(s.endedAt)],
  ['Duration', formatDuration(sessionSeconds(s, d.now))],
  ['Exit code', exit],
  ['Error', s.error],
  ['Terminated by', s.terminatedBy],
  ['Termination reason', s.terminationReason],
  ['apiserver auditID', html`<code>${s.auditId}</code>`],
  ['Attribution', s.attribution],
  ['Input recorded', s.recordInput ? 'yes' : 'no'],
  ['Recording SHA-256', s.recordingSha256 ? html`<code class="hash">${s.recordingSha256}</code>` : undefined],
])}
</section>
<script type="application/json" id="session-data">${jsonIsland(data)}</script>`;
}
