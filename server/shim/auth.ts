// Who a connecting shim is: its projected service-account token goes to TokenReview with the
// audience the token was minted for, the user must be one of the shim service accounts, and the
// node comes from the token's node-name extra (kubelet binds projected tokens to the pod's node).
// The shim's own claim about its node is never trusted.
import { AuditedExecError } from '../../common/errors.ts';
import type { KubeClient } from '../kube/client.ts';

export const NODE_NAME_EXTRA = 'authentication.kubernetes.io/node-name';
export { SHIM_AUDIENCE } from '../../common/shim-protocol.ts';
export const SHIM_SERVICE_ACCOUNT = 'system:serviceaccount:audited-exec:shim';

export interface ShimIdentity {
  username: string;
  node: string;
}

interface ReviewStatus {
  authenticated?: boolean;
  audiences?: string[];
  user?: { username?: string; extra?: Record<string, string[]> };
}

export async function reviewShimToken(
  kube: KubeClient,
  token: string,
  options: { audience: string; serviceAccounts: readonly string[] },
): Promise<ShimIdentity> {
  const res = await kube.request<{ status?: ReviewStatus }>({
    method: 'POST',
    path: '/apis/authentication.k8s.io/v1/tokenreviews',
    body: {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenReview',
      spec: { token, audiences: [options.audience] },
    },
  });
  if (res.status !== 201 && res.status !== 200) {
    throw new AuditedExecError(
      'AUTH_TOKENREVIEW_FAILED',
      `the Kubernetes API refused the recorder's TokenReview (HTTP ${res.status}); check the recorder's RBAC`,
    );
  }
  const s = res.body?.status;
  const audienceOk = s?.audiences === undefined || s.audiences.includes(options.audience);
  if (!s?.authenticated || !s.user?.username || !audienceOk) {
    throw new AuditedExecError(
      'SHIM_UNAUTHENTICATED',
      `the cluster does not accept this token for audience ${options.audience}; mount a projected service-account token with that audience`,
    );
  }
  const username = s.user.username;
  if (!options.serviceAccounts.includes(username)) {
    throw new AuditedExecError(
      'SHIM_FORBIDDEN',
      `${username} is not a shim service account (${options.serviceAccounts.join(', ')}); only the node shim may send process events`,
    );
  }
  const node = s.user.extra?.[NODE_NAME_EXTRA]?.[0];
  if (!node) {
    throw new AuditedExecError(
      'SHIM_NO_NODE',
      `the token of ${username} is not bound to a node (no ${NODE_NAME_EXTRA}); use a projected token from the shim pod`,
    );
  }
  return { username, node };
}
