// report.html: one self-contained page an auditor opens from file:// with no network: session
// metadata, the command timeline, and the recording in an inlined asciinema-player. Clicking a
// command seeks the player to it. Pure: the caller passes the player's JS and CSS in.
// The page comes in pieces, the embedded recording escaped a piece at a time as they are read:
// it reaches REPORT_CAST_LIMIT, and whole copies of it (decoded, escaped, joined) cost GiBs.

import { afterSessionEnd } from '../../common/after-end.ts';
import type { EvidenceEvent } from '../../common/evidence/events.ts';
import type { SignedSession } from '../../common/evidence/format.ts';
import { describeMissing } from '../../common/missing-range.ts';
import { kindInfo } from '../sessions/kinds.ts';
import type { PlayerAssets } from './player-assets.ts';

export interface ReportInput {
  session: SignedSession;
  events: readonly EvidenceEvent[];
  /** the recording's bytes to embed (whole lines) */
  cast: Uint8Array;
  /** set when `cast` is only the start of the recording */
  castNote?: string;
  player: PlayerAssets;
  signer: string;
  version: number;
}

const enc = new TextEncoder();

/** report.html's bytes in order, rendered as they are read (hashing, then packing, renders twice). */
export function* renderReport(input: ReportInput): Generator<Uint8Array> {
  const { session: s, player } = input;
  const origin = recordingOrigin(castHeader(input.cast), s.startedAt);
  const rows = input.events.map((e) => row(e, origin, s)).join('\n');
  const target = kindInfo(s.kind).target(s);
  const meta: Array<[string, unknown]> = [
    ['Session', s.id],
    ['Kind / state', `${s.kind} / ${s.state}`],
    ['User', s.user],
    ['Groups', s.groups.join(', ')],
    ['UID', s.uid],
    ['Impersonated by', s.impersonator],
    ['Target', target],
    ['Container', s.container],
    ['Container ID', s.containerId],
    ['Node', s.node],
    ['Image', s.image],
    ['Command', s.command.join(' ')],
    ['Reason', s.reason],
    ['Ticket', s.ticket],
    ['Started', s.startedAt],
    ['Ended', s.endedAt],
    ['Exit code', s.exitCode],
    ['Error', s.error],
    ['Terminated by', s.terminatedBy],
    ['Termination reason', s.terminationReason],
    ['apiserver auditID', s.auditId],
    ['Attribution', s.attribution],
    ['Input recorded', s.recordInput ? 'yes' : 'no'],
    ['Recording SHA-256', s.recordingSha256],
    ['Signature', `version ${input.version}, signer ${input.signer}`],
  ];
  const metaRows = meta
    .filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(String(v))}</td></tr>`)
    .join('\n');
  const head = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline' 'wasm-unsafe-eval'; style-src 'unsafe-inline'; img-src data:; font-src data:">
<title>Session ${esc(s.id)} — audited-exec evidence</title>
<style>${player.css.replace(/<\/style/gi, '<\\/style')}</style>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#222}
table{border-collapse:collapse}th,td{text-align:left;vertical-align:top;padding:.2rem .6rem;border-bottom:1px solid #ddd}
.meta th{white-space:nowrap;color:#555}#player{max-width:960px;margin:1rem 0}
.cmd button{font:inherit;font-family:ui-monospace,monospace;background:none;border:0;color:#0645ad;cursor:pointer;text-align:left;padding:0}
.alert td{background:#fff0f0}.after{font-size:11px;font-weight:700;text-transform:uppercase;color:#8a4b00;background:#fdecd9;padding:0 .3rem;border-radius:3px}.raw{font-family:ui-monospace,monospace;font-size:12px;white-space:pre-wrap;word-break:break-all}
footer{margin-top:2rem;color:#666;font-size:12px}
</style></head><body>
<h1>audited-exec session evidence</h1>
<table class="meta">${metaRows}</table>
<div id="player"></div>${input.castNote ? `<p class="note">Recording shortened for this page: ${esc(input.castNote)}; recording.cast in the bundle holds all of it.</p>` : ''}
<h2>Commands and alerts (${input.events.length})</h2>
<table id="commands"><thead><tr><th>at</th><th>command</th><th>pid / ppid</th><th>attribution</th><th>time (audit)</th></tr></thead>
<tbody>${rows}</tbody></table>
<footer>Rendered with asciinema-player ${esc(player.version)}. This page is one file of a signed bundle;
check the bundle with <code>kubectl audited-exec verify</code>: the page alone proves nothing.</footer>
<script type="application/json" id="recording">`;
  const tail = `</script>
<script>${player.js.replace(/<\/script/gi, '<\\/script')}</script>
<script>
(function () {
  var cast = JSON.parse(document.getElementById('recording').textContent);
  var player = AsciinemaPlayer.create({ data: cast }, document.getElementById('player'), {
    preload: true, fit: 'width', poster: 'npt:0:0', controls: true
  });
  window.auditedExecPlayer = player;
  document.getElementById('commands').addEventListener('click', function (ev) {
    var b = ev.target.closest('button[data-at]');
    if (!b) return;
    player.seek(Number(b.getAttribute('data-at')));
    document.getElementById('player').scrollIntoView({ behavior: 'smooth' });
  });
})();
</script>
</body></html>
`;
  yield enc.encode(head);
  yield* castJson(input.cast);
  yield enc.encode(tail);
}

/** One command or alert; what came after the session's end is marked (a process that outlived
 *  the shell). */
function row(e: EvidenceEvent, origin: number, session: Pick<SignedSession, 'endedAt'>): string {
  const x = e.exec ?? e.alert;
  const after = x && afterSessionEnd(session, x.time) ? ' <span class="after">after end</span>' : '';
  const at = x ? Math.max(0, (Date.parse(x.time) - origin) / 1000) : 0;
  const atText = Number.isFinite(at) ? at.toFixed(1) : '0.0';
  const argv = x?.argv.join(' ') ?? '';
  const label = e.alert?.missing
    ? `⚠ ${describeMissing(e.alert.missing)}`
    : e.alert
      ? `⚠ ${e.alert.alert}${e.alert.declared ? ` (declares ${e.alert.declared})` : ''}: ${argv}`
      : argv;
  return `<tr class="${e.kind === 'alert' ? 'alert' : 'cmd'}"><td>${atText}s</td>
<td class="cmd"><button type="button" data-at="${Number.isFinite(at) ? at : 0}">${esc(label)}</button>${after}
<details><summary>${e.raw.length} audit lines</summary><div class="raw">${esc(e.raw.join('\n'))}</div></details></td>
<td>${x ? `${x.pid} / ${x.ppid}` : ''}</td><td>${esc(e.exec?.attribution ?? e.alert?.alert ?? '')}</td><td>${esc(x?.time ?? '')}</td></tr>`;
}

/**
 * Epoch ms of recording time 0. The cast header's timestamp is whole seconds; the session's
 * start has milliseconds, so it wins when it falls inside that second. (No idle-time limit in
 * the player: compressed pauses would make these offsets wrong.)
 */
function recordingOrigin(castHeader: string, startedAt: string): number {
  const started = Date.parse(startedAt);
  try {
    const header = JSON.parse(castHeader) as { timestamp?: number };
    const t = header.timestamp;
    if (typeof t === 'number' && !(started >= t * 1000 && started < t * 1000 + 1000)) return t * 1000;
  } catch {
    // no readable header: the session start is the best origin there is
  }
  return started;
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The cast's first line; with no newline, as slicing the text to indexOf('\n') (-1) gives. */
function castHeader(cast: Uint8Array): string {
  const nl = cast.indexOf(0x0a);
  const dec = new TextDecoder();
  return nl >= 0 ? dec.decode(cast.subarray(0, nl)) : dec.decode(cast).slice(0, -1);
}

const PIECE = 1024 * 1024;

/**
 * The cast's text as a JSON string for inside <script>, a piece at a time; the same bytes as
 * escaping the whole text at once: JSON escapes each character on its own, and the streaming
 * decoder never splits a character (or a surrogate pair) between pieces.
 */
function* castJson(cast: Uint8Array): Generator<Uint8Array> {
  const dec = new TextDecoder();
  const piece = (text: string) => enc.encode(forScript(JSON.stringify(text).slice(1, -1)));
  yield enc.encode('"');
  for (let at = 0; at < cast.length; at += PIECE) {
    yield piece(dec.decode(cast.subarray(at, at + PIECE), { stream: true }));
  }
  yield piece(dec.decode());
  yield enc.encode('"');
}

/** JSON inside <script>: `<` escaped so no `</script>` or `<!--` in the data can end the element. */
function forScript(json: string): string {
  return json
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}
