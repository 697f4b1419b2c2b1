// The pages and files behind sign-in. Every per-session route gets its session through
// requireViewableSession (server/auth/session-access.ts) before touching its recording, events or
// evidence: no byte of a recording leaves without that check.

import { AuditedExecError } from '../../common/errors.ts';
import { terminationMarker as terminationMarkerLabel } from '../../common/termination.ts';
import type { AttributionAlert, SessionRecord } from '../../common/wire.ts';
import { requireViewableSession } from '../auth/session-access.ts';
import { UNRECORDED_KINDS } from '../events/store.ts';
import type { Handler, RequestContext, Router } from '../http/router.ts';
import { decodeCursor } from '../store/store.ts';
import { readCastHeader } from './cast-tail.ts';
import type { UiContext, ViewerHandler } from './context.ts';
import { isLive, parseTimeInput } from './format.ts';
import { layout, STATIC } from './pages/layout.ts';
import { sessionPage, type TimelineSectionData, timelineSection } from './pages/session.ts';
import { type SessionsQuery, sessionsPage } from './pages/sessions.ts';
import { type UnrecordedQuery, unrecordedPage } from './pages/unrecorded.ts';
import { visiblePage } from './paging.ts';
import { sendHtml, sendProblem } from './respond.ts';
import { matchesAll, searchTerms, sessionText } from './search.ts';
import { ECHO_WINDOW_S, outputLines, seekTargets } from './seek-times.ts';
import { sessionFileRoutes } from './session-files.ts';
import { terminateRoutes } from './terminate-routes.ts';
import { buildTimeline, playerMarkers, splitEvents, type TimelineEntry } from './timeline.ts';
import type { ResolvedViewer } from './viewer.ts';

function pick<K extends string>(url: URL, keys: readonly K[]): Partial<Record<K, string>> {
  const out: Partial<Record<K, string>> = {};
  for (const k of keys) {
    const v = url.searchParams.get(k)?.trim();
    if (v) out[k] = v.slice(0, 300);
  }
  return out;
}

function chrome(v: ResolvedViewer, title: string, nav?: 'sessions' | 'unrecorded') {
  return {
    title,
    user: v.user.username,
    groups: v.user.groups,
    ...(v.session ? { csrf: v.session.csrf } : {}),
    ...(nav ? { nav } : {}),
  };
}

/** Loads a session the viewer may see, or answers 404/403 and returns null. */
export async function viewable(
  ctx: RequestContext,
  v: ResolvedViewer,
  ui: UiContext,
): Promise<SessionRecord | null> {
  const id = (ctx.params.id ?? '').toLowerCase();
  try {
    return await requireViewableSession({ access: ui.access, sessions: ui.deps.store }, v.user, id);
  } catch (err) {
    if (!(err instanceof AuditedExecError)) throw err;
    if (err.code === 'SESSION_FORBIDDEN') {
      const message = `${v.user.username} may not view this session (needs get on sessions.audited-exec.io).`;
      sendProblem(ctx.req, ctx.res, 403, message, { ...chrome(v, ''), refusal: err.code });
      return null;
    }
    if (err.code !== 'SESSION_NOT_FOUND' && err.code !== 'SESSION_BAD_ID') throw err;
    const refusal = err.code;
    sendProblem(ctx.req, ctx.res, 404, 'There is no session with this id.', { ...chrome(v, ''), refusal });
    return null;
  }
}

export function sessionRoutes(router: Router, signedIn: (h: ViewerHandler) => Handler): void {
  const get = (pattern: string, h: ViewerHandler) => router.get(pattern, signedIn(h), { auth: false });
  get('/ui/sessions', sessionList);
  get('/ui/sessions/:id', sessionView);
  get('/ui/sessions/:id/timeline', timelineFragment);
  sessionFileRoutes(get, viewable);
  get('/ui/unrecorded', unrecordedList);
  terminateRoutes(router, signedIn);
}

/** The sessions the viewer may see, newest first, filtered and searched. */
async function sessionList(ctx: RequestContext, v: ResolvedViewer, ui: UiContext): Promise<void> {
  const query: SessionsQuery = pick(ctx.url, [
    'user',
    'namespace',
    'pod',
    'node',
    'since',
    'until',
    'q',
    'continue',
  ]);
  let notice: string | undefined;
  if (query.continue && !decodeCursor(query.continue)) {
    notice = 'That page link was not valid; showing the newest sessions.';
    delete query.continue;
  }
  const page = await searchSessions(query, v, ui);
  if (!notice && page.continue && page.items.length < ui.config.pageSize) {
    notice = `Searched ${page.scanned} sessions; older ones you may see can follow: use “Older”.`;
  }
  const searchScope = ui.events?.matchCommands
    ? 'Searches attributed commands, command, reason and ticket.'
    : 'Searches command, reason, ticket, user and pod (attributed commands not indexed yet).';
  sendHtml(
    ctx.res,
    200,
    layout(
      chrome(v, 'Sessions', 'sessions'),
      sessionsPage({
        query,
        items: page.items,
        ...(page.continue ? { continue: page.continue } : {}),
        searchScope,
        now: Date.now(),
        ...(notice ? { notice } : {}),
      }),
    ),
  );
}

/** One page of the sessions the query's filters and search terms select, of those the viewer may see. */
function searchSessions(query: SessionsQuery, v: ResolvedViewer, ui: UiContext) {
  const since = parseTimeInput(query.since);
  const until = parseTimeInput(query.until);
  const terms = searchTerms(query.q);
  const events = ui.events;
  return visiblePage({
    filter: {
      ...(query.user ? { user: query.user } : {}),
      ...(query.namespace ? { namespace: query.namespace } : {}),
      ...(query.pod ? { pod: query.pod } : {}),
      ...(query.node ? { node: query.node } : {}),
      ...(since ? { since } : {}),
      ...(until ? { until } : {}),
    },
    limit: ui.config.pageSize,
    ...(query.continue ? { continue: query.continue } : {}),
    fetch: (f) => ui.deps.store.listSessions(f),
    keep: async (rows) => {
      const visible = await ui.access.keep(v.user, rows);
      if (!terms.length) return visible;
      const byEvents = events?.matchCommands
        ? await events.matchCommands(
            rows.filter((_, i) => visible[i]).map((r) => r.id),
            terms,
          )
        : new Set<string>();
      return rows.map((r, i) => !!visible[i] && (byEvents.has(r.id) || matchesAll(sessionText(r), terms)));
    },
    batch: terms.length ? 200 : ui.config.pageSize + 1,
    maxScanned: ui.config.maxScanned,
  });
}

/** One session: the player beside its command timeline and alerts. */
async function sessionView(ctx: RequestContext, v: ResolvedViewer, ui: UiContext): Promise<void> {
  const s = await viewable(ctx, v, ui);
  if (!s) return;
  const { startMs, ...commands } = await sessionCommands(s, ui);
  // The Terminate form only for those RBAC lets end it; the form's POST asks again.
  const mayTerminate =
    isLive(s) && ui.deps.terminate !== undefined && (await ui.access.mayTerminate(v.user, s));
  const page = sessionPage({
    session: s,
    ...commands,
    markers: [...playerMarkers(commands.timeline), ...terminationMarker(s, startMs)],
    now: Date.now(),
    ...(mayTerminate ? { terminate: { csrf: v.session?.csrf ?? '' } } : {}),
  });
  sendHtml(
    ctx.res,
    200,
    layout(
      {
        ...chrome(v, `Session ${s.id.slice(0, 8)}`, 'sessions'),
        styles: [`${STATIC}/player.css`],
        classicScripts: [`${STATIC}/player.js`],
        scripts: [`${STATIC}/session.js`],
      },
      page,
    ),
  );
}

/** The command list alone, as HTML: the live page asks for it again while the session runs. */
async function timelineFragment(ctx: RequestContext, v: ResolvedViewer, ui: UiContext): Promise<void> {
  const s = await viewable(ctx, v, ui);
  if (!s) return;
  sendHtml(ctx.res, 200, timelineSection(await sessionCommands(s, ui)));
}

/** The session's attributed commands on the recording's clock, and its alerts. */
async function sessionCommands(
  s: SessionRecord,
  ui: UiContext,
): Promise<TimelineSectionData & { alerts: AttributionAlert[]; startMs: number }> {
  const items = ui.events ? await ui.events.sessionEvents(s.id).catch(() => null) : null;
  const { execs, alerts } = splitEvents(items ?? []);
  // The recording's t=0 is exactly its header's timestamp (the writer aligns it to the second).
  const recording = await ui.deps.recordingPathFor(s.id);
  const header = await readCastHeader(recording);
  const startMs = header?.timestamp ? header.timestamp * 1000 : Date.parse(s.startedAt);
  const timeline = buildTimeline(execs, {
    startMs,
    ...(s.endedAt ? { endedAt: s.endedAt } : {}),
  });
  if (s.tty && !isLive(s)) await seekToEchoes(timeline, recording);
  return { timeline, alerts, eventsAvailable: items !== null, startMs };
}

/** Sets each entry's seek time to just after the echo of its command line (seek-times.ts). */
async function seekToEchoes(timeline: TimelineEntry[], recording: string): Promise<void> {
  const last = timeline.at(-1);
  if (!last) return;
  const seeks = seekTargets(
    timeline.map((e) => ({ t: e.t, program: e.program })),
    await outputLines(recording, last.t + ECHO_WINDOW_S),
  );
  timeline.forEach((e, i) => {
    if (seeks[i] !== e.t) e.seek = seeks[i]!;
  });
}

/** Where a moderator ended the session: the recording's last moment, as its `m` event marks it. */
function terminationMarker(s: SessionRecord, startMs: number): [number, string][] {
  if (s.state !== 'terminated' || !s.endedAt || !s.terminatedBy) return [];
  const t = Math.max(0, (Date.parse(s.endedAt) - startMs) / 1000);
  return [[t, terminationMarkerLabel({ by: s.terminatedBy, reason: s.terminationReason ?? '' })]];
}

/** Activity in containers that no session owns, for those who may list sessions everywhere. */
async function unrecordedList(ctx: RequestContext, v: ResolvedViewer, ui: UiContext): Promise<void> {
  if (!(await ui.access.mayList(v.user, undefined))) {
    return sendProblem(
      ctx.req,
      ctx.res,
      403,
      'Unrecorded activity is shown to those who may list sessions in every namespace.',
      chrome(v, ''),
    );
  }
  const query: UnrecordedQuery = pick(ctx.url, ['kind', 'pod', 'node', 'since', 'until', 'continue']);
  const kind = UNRECORDED_KINDS.find((k) => k === query.kind);
  const source = ui.events?.unrecordedAlerts;
  const since = parseTimeInput(query.since);
  const until = parseTimeInput(query.until);
  const page = source
    ? await source.call(ui.events, {
        ...(kind ? { kind } : {}),
        ...(query.pod ? { pod: query.pod } : {}),
        ...(query.node ? { node: query.node } : {}),
        ...(since ? { since } : {}),
        ...(until ? { until } : {}),
        limit: ui.config.pageSize,
        ...(query.continue ? { continue: query.continue } : {}),
      })
    : null;
  sendHtml(
    ctx.res,
    200,
    layout(
      chrome(v, 'Unrecorded activity', 'unrecorded'),
      unrecordedPage({
        query,
        items: page?.items ?? null,
        ...(page?.continue ? { continue: page.continue } : {}),
      }),
    ),
  );
}
