// A session's files behind the same check as its page: the recording (exact bytes, or a display
// variant for the player), the live stream, the shim events and the evidence bundle.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { SessionRecord } from '../../common/wire.ts';
import { sendJson } from '../http/respond.ts';
import type { RequestContext } from '../http/router.ts';
import { LineSplitter } from './cast-tail.ts';
import type { UiContext, ViewerHandler } from './context.ts';
import { isLive } from './format.ts';
import { streamLive } from './live.ts';
import { displayLine } from './live-stream.ts';
import { sendProblem } from './respond.ts';
import { SECURITY_HEADERS } from './security.ts';
import type { ResolvedViewer } from './viewer.ts';

type Get = (pattern: string, h: ViewerHandler) => unknown;
type Viewable = (ctx: RequestContext, v: ResolvedViewer, ui: UiContext) => Promise<SessionRecord | null>;

/** Streams the .cast file with every line passed through displayLine. */
async function sendDisplayVariant(path: string, res: ServerResponse): Promise<void> {
  const splitter = new LineSplitter();
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    const lines = splitter.push(chunk);
    if (lines.length && !res.write(`${lines.map(displayLine).join('\n')}\n`)) {
      await new Promise((r) => res.once('drain', r));
    }
  }
  res.end();
}

export function sessionFileRoutes(get: Get, viewable: Viewable): void {
  get('/ui/sessions/:id/recording.cast', async (ctx, v, ui) => {
    const s = await viewable(ctx, v, ui);
    if (!s) return;
    const path = await ui.deps.recordingPathFor(s.id);
    const info = await stat(path).catch(() => null);
    if (!info) return sendProblem(ctx.req, ctx.res, 404, 'This session has no recording.');
    const display = ctx.url.searchParams.get('display') === '1' && !s.tty;
    const exact = !display && !isLive(s);
    ctx.res.writeHead(200, {
      ...SECURITY_HEADERS,
      'Content-Type': 'application/x-asciicast',
      'Content-Disposition': `${display ? 'inline' : 'attachment'}; filename="${s.id}.cast"`,
      'Cache-Control': 'no-store',
      ...(exact ? { 'Content-Length': String(info.size) } : {}),
    });
    if (ctx.req.method === 'HEAD') return ctx.res.end();
    if (display) return sendDisplayVariant(path, ctx.res);
    // Exactly the bytes stat saw: a running session's file is read up to its current end.
    if (info.size === 0) return ctx.res.end();
    createReadStream(path, { end: info.size - 1 }).pipe(ctx.res);
  });

  get('/ui/sessions/:id/live', async (ctx, v, ui) => {
    const s = await viewable(ctx, v, ui);
    if (!s) return;
    const ac = new AbortController();
    ctx.res.on('close', () => ac.abort());
    await streamLive(ctx.res, {
      path: await ui.deps.recordingPathFor(s.id),
      tty: s.tty,
      getSession: () => ui.deps.store.getSession(s.id),
      signal: ac.signal,
      allowed: async () => {
        const now = await ui.viewer(ctx.req);
        return now !== null && (await ui.access.canView(now.user, s));
      },
      recheckMs: Math.min(60_000, ui.sessions.options.reviewIntervalMs),
    });
  });

  get('/ui/sessions/:id/events', async (ctx, v, ui) => {
    const s = await viewable(ctx, v, ui);
    if (!s) return;
    if (!ui.events)
      return sendProblem(ctx.req, ctx.res, 404, 'This recorder does not store node-agent events yet.');
    sendJson(ctx.res, 200, { items: await ui.events.sessionEvents(s.id) }, { ...SECURITY_HEADERS });
  });

  get('/ui/sessions/:id/evidence', async (ctx, v, ui) => {
    const s = await viewable(ctx, v, ui);
    if (!s) return;
    if (!ui.deps.evidence)
      return sendProblem(ctx.req, ctx.res, 404, 'Evidence export is not available on this recorder.');
    if (isLive(s)) {
      return sendProblem(
        ctx.req,
        ctx.res,
        409,
        'Evidence is signed when the session ends; it is still running.',
      );
    }
    const bundle = await ui.deps.evidence.bundle(s.id);
    ctx.res.writeHead(200, {
      ...SECURITY_HEADERS,
      'Content-Type': 'application/gzip',
      'Content-Length': String(bundle.size),
      'Content-Disposition': `attachment; filename="audited-exec-${s.id}.tar.gz"`,
      'Cache-Control': 'no-store',
    });
    if (ctx.req.method === 'HEAD') return ctx.res.end();
    // Headers are sent: a read failure or a client gone can only cut the response (pipeline does).
    await pipeline(bundle.stream(), ctx.res).catch(() => {});
  });
}
