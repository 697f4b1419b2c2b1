// Impersonate-* headers, handled like the apiserver's impersonation filter: every requested user,
// group, uid and extra value is authorised as verb `impersonate` (resourceName = the value), and the
// result replaces the requester for authorisation while the audit log keeps both. Pure.
import type { UserInfo } from './identity.ts';
import type { ResourceAttributes } from './rbac.ts';

export interface ImpersonationRequest {
  user: UserInfo;
  /** the checks the requester must pass, in the apiserver's order */
  checks: ResourceAttributes[];
}

export type ImpersonationParse =
  | { ok: true; request: ImpersonationRequest | null }
  | { ok: false; message: string };

const EXTRA_PREFIX = 'impersonate-extra-';

/** headers: Node's req.headersDistinct (lower-case names, every line kept). */
export function parseImpersonation(headers: Record<string, string[] | undefined>): ImpersonationParse {
  const users = headers['impersonate-user'] ?? [];
  const groups = headers['impersonate-group'] ?? [];
  const uids = headers['impersonate-uid'] ?? [];
  const extra: Record<string, string[]> = {};
  for (const [name, values] of Object.entries(headers)) {
    if (!name.startsWith(EXTRA_PREFIX) || !values) continue;
    let key: string;
    try {
      key = decodeURIComponent(name.slice(EXTRA_PREFIX.length)).toLowerCase();
    } catch {
      return { ok: false, message: `invalid impersonation extra key ${name}` };
    }
    extra[key] = [...(extra[key] ?? []), ...values];
  }
  const anything = users.length || groups.length || uids.length || Object.keys(extra).length;
  if (!anything) return { ok: true, request: null };
  if (users.length !== 1 || !users[0]) {
    return {
      ok: false,
      message: 'requested [' + describe(groups, uids, extra) + '] without impersonating a user',
    };
  }
  if (uids.length > 1) return { ok: false, message: 'only one Impersonate-Uid header is allowed' };
  const username = users[0];
  const checks: ResourceAttributes[] = [];
  const sa = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(username);
  const resultGroups = [...groups];
  if (sa) {
    checks.push({
      verb: 'impersonate',
      apiGroup: '',
      resource: 'serviceaccounts',
      namespace: sa[1]!,
      name: sa[2]!,
    });
    if (!groups.length) resultGroups.push('system:serviceaccounts', `system:serviceaccounts:${sa[1]}`);
  } else {
    checks.push({ verb: 'impersonate', apiGroup: '', resource: 'users', name: username });
  }
  for (const g of groups) checks.push({ verb: 'impersonate', apiGroup: '', resource: 'groups', name: g });
  for (const [key, values] of Object.entries(extra)) {
    for (const v of values) {
      // Like the apiserver: users and groups live in the core group, uids and userextras in authentication.k8s.io.
      checks.push({
        verb: 'impersonate',
        apiGroup: 'authentication.k8s.io',
        resource: 'userextras',
        subresource: key,
        name: v,
      });
    }
  }
  for (const u of uids) {
    checks.push({ verb: 'impersonate', apiGroup: 'authentication.k8s.io', resource: 'uids', name: u });
  }
  if (username !== 'system:anonymous' && !resultGroups.includes('system:authenticated')) {
    resultGroups.push('system:authenticated');
  }
  const user: UserInfo = {
    username,
    groups: resultGroups,
    ...(uids[0] ? { uid: uids[0] } : {}),
    ...(Object.keys(extra).length ? { extra } : {}),
  };
  return { ok: true, request: { user, checks } };
}

function describe(groups: string[], uids: string[], extra: Record<string, string[]>): string {
  return [...groups.map((g) => `group ${g}`), ...uids.map((u) => `uid ${u}`), ...Object.keys(extra)].join(
    ', ',
  );
}
