// SubjectAccessReview: asks the apiserver whether a user may do something, so reading other
// people's sessions follows the cluster's own RBAC (resource `sessions` in group audited-exec.io),
// and reading /metrics the non-resource URL rule Prometheus already has for every other /metrics.
import { AuditedExecError } from '../../common/errors.ts';
import type { KubeClient } from '../kube/client.ts';
import type { UserInfo } from './user.ts';

export const API_GROUP = 'audited-exec.io';

export interface AccessQuery {
  verb: string;
  resource: string;
  group?: string;
  /** Absent for cluster-scoped checks (node sessions). */
  namespace?: string;
  name?: string;
  subresource?: string;
}

/** A path outside the API's resources, as RBAC's nonResourceURLs name it (e.g. get /metrics). */
export interface NonResourceQuery {
  verb: string;
  path: string;
}

export interface AccessReviewer {
  allowed(user: UserInfo, query: AccessQuery | NonResourceQuery): Promise<boolean>;
}

function attributes(q: AccessQuery | NonResourceQuery): object {
  if ('path' in q) return { nonResourceAttributes: { verb: q.verb, path: q.path } };
  return {
    resourceAttributes: {
      verb: q.verb,
      resource: q.resource,
      group: q.group ?? API_GROUP,
      ...(q.namespace ? { namespace: q.namespace } : {}),
      ...(q.name ? { name: q.name } : {}),
      ...(q.subresource ? { subresource: q.subresource } : {}),
    },
  };
}

export function createAccessReviewer(kube: KubeClient): AccessReviewer {
  return {
    async allowed(user, q) {
      const res = await kube.request<{ status?: { allowed?: boolean } }>({
        method: 'POST',
        path: '/apis/authorization.k8s.io/v1/subjectaccessreviews',
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SubjectAccessReview',
          spec: {
            user: user.username,
            groups: user.groups,
            ...(user.uid ? { uid: user.uid } : {}),
            ...(user.extra ? { extra: user.extra } : {}),
            ...attributes(q),
          },
        },
      });
      if (res.status !== 201 && res.status !== 200) {
        throw new AuditedExecError(
          'AUTH_ACCESSREVIEW_FAILED',
          `the Kubernetes API refused the recorder's SubjectAccessReview (HTTP ${res.status}); check the recorder's RBAC`,
        );
      }
      return res.body?.status?.allowed === true;
    },
  };
}
