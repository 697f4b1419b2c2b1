// Which callers the recorder refuses to act as. Its service account may impersonate any user and
// group (RBAC cannot say "all but"), so the line is drawn here: a member of system:masters, or of a
// configured group, never gets a session, because impersonating them would hand the recorder's
// caller cluster-admin rights without RBAC ever being asked.
import { HttpError } from '../http/respond.ts';
import type { UserInfo } from './user.ts';

/** Never impersonated, whatever the configuration says: RBAC does not even apply to it. */
export const ALWAYS_DENIED_GROUPS: readonly string[] = ['system:masters'];

/** The caller's groups the recorder must not impersonate ([] when it may act as them). */
export function deniedGroups(groups: readonly string[], configured: readonly string[] = []): string[] {
  return groups.filter((g) => ALWAYS_DENIED_GROUPS.includes(g) || configured.includes(g));
}

/** Throws 403 SESSION_IMPERSONATION_DENIED (also the Status reason, for clients to switch on) when the caller is in a denied group. */
export function refuseDeniedImpersonation(user: UserInfo, configured: readonly string[] = []): void {
  const denied = deniedGroups(user.groups, configured);
  if (denied.length === 0) return;
  throw new HttpError(
    403,
    'SESSION_IMPERSONATION_DENIED',
    `the recorder never acts as a member of ${denied.join(', ')}: use an identity outside ${denied.length > 1 ? 'those groups' : 'that group'} for recorded sessions`,
    { reason: 'SESSION_IMPERSONATION_DENIED' },
  );
}
