// Who may do what with evidence: read a session's bundle (whoever may view the session), export in
// bulk (anyone, but only the sessions they may view: the paging below), set a legal hold (RBAC
// `update sessions`, never the owner's own call: it changes what retention may delete).
import type { SessionQuery, SessionRecord } from '../../common/wire.ts';
import { requireViewableSession, type SessionAccess } from '../auth/session-access.ts';
import type { UserInfo } from '../auth/user.ts';
import type { Store } from '../store/store.ts';
import type { Authorize } from './routes.ts';

export interface EvidenceAuthority {
  store: Pick<Store, 'getSession' | 'listSessions'>;
  access: Pick<SessionAccess, 'canView' | 'keep' | 'mayUpdate'>;
}

export function authorizeEvidence(a: EvidenceAuthority, user: UserInfo): Authorize {
  return async (_req, request) => {
    if (request.action === 'evidence:export') return { allowed: true, user: user.username };
    if (request.action === 'evidence:read') {
      // The session's own rule and refusals (SESSION_NOT_FOUND, SESSION_FORBIDDEN), as its page's.
      await requireViewableSession({ access: a.access, sessions: a.store }, user, request.sessionId);
      return { allowed: true, user: user.username };
    }
    const s = request.sessionId ? await a.store.getSession(request.sessionId) : null;
    if (!s) return { allowed: true, user: user.username }; // the handler answers 404 itself
    return { allowed: await a.access.mayUpdate(user, s), user: user.username };
  };
}

/** Bulk export: every session matching `query` (all pages) that `user` may see, never more. */
export async function viewableSessions(
  a: EvidenceAuthority,
  user: UserInfo,
  query: SessionQuery,
): Promise<SessionRecord[]> {
  const out: SessionRecord[] = [];
  const filter = { ...query };
  for (;;) {
    const page = await a.store.listSessions(filter);
    const keep = await a.access.keep(user, page.items);
    out.push(...page.items.filter((_, i) => keep[i]));
    if (!page.continue) return out;
    filter.continue = page.continue;
  }
}
