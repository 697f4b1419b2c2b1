// Who may see or act on which session: the cluster's RBAC on the virtual resource
// sessions.audited-exec.io (namespaced by the session's namespace; node sessions are cluster-scoped),
// asked through SubjectAccessReview. Everyone may always see their own sessions. The recorder builds
// one SessionAccess (app.ts) and every reader of sessions asks it: the API, the web UI, events and
// evidence. List answers are cached per viewer for a few seconds, in this one cache, so a page of 50
// rows costs one SAR per namespace, not per row.
import { AuditedExecError } from '../../common/errors.ts';
import { isSessionId } from '../../common/session-marker.ts';
import type { SessionRecord } from '../../common/wire.ts';
import { kindInfo } from '../sessions/kinds.ts';
import { type AccessQuery, type AccessReviewer, API_GROUP, type NonResourceQuery } from './access.ts';
import type { UserInfo } from './user.ts';

export interface SessionAccessOptions {
  reviewer: AccessReviewer;
  /** how long a list answer is reused for the same viewer */
  ttlMs: number;
  maxEntries: number;
  now: () => number;
}

type Scoped = Pick<SessionRecord, 'id' | 'kind' | 'namespace' | 'user' | 'uid'>;

/** The viewer started this session (uids must agree when both sides know one). */
export function ownSession(viewer: UserInfo, s: Pick<SessionRecord, 'user' | 'uid'>): boolean {
  if (viewer.username !== s.user) return false;
  return !(viewer.uid && s.uid && viewer.uid !== s.uid);
}

/** A node session or a session without a namespace is checked cluster-wide. */
function namespaceOf(s: Scoped): string | undefined {
  return kindInfo(s.kind).viewNamespace(s);
}

function viewerKey(v: UserInfo): string {
  return JSON.stringify([v.username, v.uid ?? '', [...v.groups].sort(), v.extra ?? {}]);
}

/** Also an AccessReviewer, so what is not about one session (e.g. /metrics) asks through it too. */
export class SessionAccess implements AccessReviewer {
  readonly #o: SessionAccessOptions;
  readonly #cache = new Map<string, { at: number; allowed: boolean }>();

  constructor(options: Pick<SessionAccessOptions, 'reviewer'> & Partial<SessionAccessOptions>) {
    this.#o = { ttlMs: 15_000, maxEntries: 50_000, now: Date.now, ...options };
  }

  allowed(user: UserInfo, query: AccessQuery | NonResourceQuery): Promise<boolean> {
    return this.#o.reviewer.allowed(user, query);
  }

  /** `get` on this one session: page, recording, live stream, events, evidence. */
  async canView(viewer: UserInfo, s: Scoped): Promise<boolean> {
    if (ownSession(viewer, s)) return true;
    return this.#sessionVerb(viewer, s, 'get');
  }

  /**
   * A change to the session's record that only RBAC may grant, never ownership: `update` (legal
   * hold changes what retention may delete).
   */
  mayUpdate(viewer: UserInfo, s: Scoped): Promise<boolean> {
    return this.#sessionVerb(viewer, s, 'update');
  }

  /**
   * `terminate`: ending someone's running session (a moderator). RBAC only: a user ends their own
   * session by leaving it, and a verb of its own keeps it apart from reading recordings.
   */
  mayTerminate(viewer: UserInfo, s: Scoped): Promise<boolean> {
    return this.#sessionVerb(viewer, s, 'terminate');
  }

  /** `list` scope for a batch of rows: which the viewer may see in a list. */
  async keep(viewer: UserInfo, rows: readonly Scoped[]): Promise<boolean[]> {
    if (rows.every((r) => ownSession(viewer, r))) return rows.map(() => true);
    if (await this.mayList(viewer, undefined)) return rows.map(() => true);
    const namespaces = [...new Set(rows.map(namespaceOf).filter((n): n is string => n !== undefined))];
    const allowed = new Set<string>();
    await Promise.all(
      namespaces.map(async (ns) => {
        if (await this.mayList(viewer, ns)) allowed.add(ns);
      }),
    );
    return rows.map((r) => {
      if (ownSession(viewer, r)) return true;
      const ns = namespaceOf(r);
      return ns !== undefined && allowed.has(ns);
    });
  }

  /** `list sessions` in a namespace, or (undefined) in every namespace and for node sessions. */
  async mayList(viewer: UserInfo, namespace: string | undefined): Promise<boolean> {
    const key = `${viewerKey(viewer)}\n${namespace ?? '*'}`;
    const now = this.#o.now();
    const hit = this.#cache.get(key);
    if (hit && now - hit.at < this.#o.ttlMs) return hit.allowed;
    const allowed = await this.#o.reviewer.allowed(viewer, {
      verb: 'list',
      resource: 'sessions',
      group: API_GROUP,
      ...(namespace ? { namespace } : {}),
    });
    if (this.#cache.size >= this.#o.maxEntries) {
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
    this.#cache.set(key, { at: now, allowed });
    return allowed;
  }

  #sessionVerb(viewer: UserInfo, s: Scoped, verb: 'get' | 'update' | 'terminate'): Promise<boolean> {
    const namespace = namespaceOf(s);
    return this.#o.reviewer.allowed(viewer, {
      verb,
      resource: 'sessions',
      group: API_GROUP,
      ...(namespace ? { namespace } : {}),
      name: s.id,
    });
  }
}

/**
 * The session `id` names, if `viewer` may see it: load → not found → canView → forbidden, written
 * once. Refuses with SESSION_BAD_ID, SESSION_NOT_FOUND or SESSION_FORBIDDEN; the API answers those
 * as Status objects (server/http), the web UI as pages.
 */
export async function requireViewableSession(
  o: {
    access: Pick<SessionAccess, 'canView'>;
    sessions: { getSession(id: string): Promise<SessionRecord | undefined> };
  },
  viewer: UserInfo,
  id: string | undefined,
): Promise<SessionRecord> {
  if (id === undefined || !isSessionId(id)) {
    throw new AuditedExecError('SESSION_BAD_ID', 'no such session: session ids are lower-case UUIDs');
  }
  const session = await o.sessions.getSession(id);
  if (!session) throw new AuditedExecError('SESSION_NOT_FOUND', `session ${id} not found`);
  if (!(await o.access.canView(viewer, session))) {
    throw new AuditedExecError(
      'SESSION_FORBIDDEN',
      `${viewer.username} may not read session ${id}: it needs get on sessions.audited-exec.io`,
    );
  }
  return session;
}
