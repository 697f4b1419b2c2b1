// Who a session acts as on the apiserver: the user, impersonated, with the session id as the
// impersonation extra (auth/impersonation.ts) and as the Audit-ID. Both drivers and the lifecycle use it.
import type { SessionRecord } from '../../common/wire.ts';
import type { UserInfo } from '../auth/user.ts';
import type { Impersonation } from '../kube/client.ts';

/** The groups to impersonate: the apiserver adds system:authenticated itself. */
export function impersonation(user: UserInfo, session: string): Impersonation {
  return {
    user: user.username,
    groups: user.groups.filter((g) => g !== 'system:authenticated'),
    ...(user.uid ? { uid: user.uid } : {}),
    session,
  };
}

/** The impersonation for a claimed session: its groups are the opener's (lifecycle.ts claim). */
export function sessionImpersonation(session: SessionRecord): Impersonation {
  const user: UserInfo = {
    username: session.user,
    groups: session.groups,
    ...(session.uid ? { uid: session.uid } : {}),
    method: 'token',
  };
  return impersonation(user, session.id);
}
