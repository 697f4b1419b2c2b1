// GET /api/v1/sessions, /api/v1/sessions/{id}, /api/v1/sessions/{id}/recording.
// A user may always read their own sessions (same name, and same uid when both are known); anyone
// else needs get/list on `sessions` in audited-exec.io (namespaced by the session's namespace; node
// sessions cluster-scoped). The rule itself is server/auth/session-access.ts's, shared with events,
// evidence and the UI.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { AuditedExecError } from '../../common/errors.ts';
import type { SessionQuery, SessionRecord, SessionState } from '../../common/wire.ts';
import { ownSession, requireViewableSession } from '../auth/session-access.ts';
import { sendJson } from '../http/respond.ts';
import type { RequestContext } from '../http/router.ts';
import { recordingPath } from '../recording/writer.ts';
import { MAX_PAGE } from '../store/store.ts';
import type { SessionServices } from './services.ts';

const STATES: SessionState[] = ['pending', 'running', 'ended', 'interrupted', 'refused', 'terminated'];

/** Query string → filter; rejects what it cannot read instead of ignoring it. */
export function parseListQuery(q: URLSearchParams): SessionQuery {
  const f: SessionQuery = {};
  for (const key of ['user', 'namespace', 'pod', 'node', 'continue'] as const) {
    const v = q.get(key);
    if (v) f[key] = v;
  }
  const state = q.get('state');
  if (state) {
    if (!STATES.includes(state as SessionState)) throw bad(`state must be one of ${STATES.join(', ')}`);
    f.state = state as SessionState;
  }
  for (const key of ['since', 'until'] as const) {
    const v = q.get(key);
    if (!v) continue;
    const t = Date.parse(v);
    if (Number.isNaN(t)) throw bad(`${key} must be an ISO-8601 time, e.g. 2026-11-23T10:00:00Z`);
    f[key] = new Date(t).toISOString();
  }
  const limit = q.get('limit');
  if (limit) {
    const n = Number(limit);
    if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE)
      throw bad(`limit must be an integer from 1 to ${MAX_PAGE}`);
    f.limit = n;
  }
  return f;
}

function bad(message: string): AuditedExecError {
  return new AuditedExecError('SESSION_BAD_QUERY', message);
}

export function readRoutes(services: SessionServices) {
  const { access } = services;
  const load = (ctx: RequestContext): Promise<SessionRecord> =>
    requireViewableSession({ access, sessions: services.store }, ctx.user!, ctx.params.id);

  return {
    async list(ctx: RequestContext): Promise<void> {
      const user = ctx.user!;
      const filter = parseListQuery(ctx.url.searchParams);
      // Without list rights only the user's own sessions: ownSession also compares uids.
      let ownOnly = filter.user === user.username;
      if (!ownOnly) {
        if (!(await access.mayList(user, filter.namespace))) {
          // Without list rights the answer is "your own sessions", unless someone else's were asked for.
          if (filter.user) {
            throw new AuditedExecError(
              'SESSION_FORBIDDEN',
              `${user.username} may not list other users' sessions: it needs list on sessions.audited-exec.io`,
            );
          }
          filter.user = user.username;
          ownOnly = true;
        }
      }
      const page = await services.store.listSessions(filter);
      if (ownOnly) page.items = page.items.filter((s) => ownSession(user, s));
      sendJson(ctx.res, 200, page);
    },

    async get(ctx: RequestContext): Promise<void> {
      sendJson(ctx.res, 200, await load(ctx));
    },

    async recording(ctx: RequestContext): Promise<void> {
      const s = await load(ctx);
      const path = services.recordings
        ? await services.recordings.pathFor(s.id)
        : recordingPath(services.dataDir, s.id);
      const info = await stat(path).catch(() => null);
      if (!info?.isFile() || info.size === 0) {
        throw new AuditedExecError(
          'RECORDING_NOT_FOUND',
          `session ${s.id} has no recording (state ${s.state})`,
        );
      }
      ctx.res.writeHead(200, {
        'Content-Type': 'application/x-asciicast',
        'Content-Length': info.size,
        'Content-Disposition': `attachment; filename="${s.id}.cast"`,
        'Cache-Control': 'no-store',
      });
      if (ctx.req.method === 'HEAD') return void ctx.res.end();
      // A running session's file keeps growing: serve the bytes that existed at stat time.
      createReadStream(path, { start: 0, end: info.size - 1 }).pipe(ctx.res);
    },
  };
}
