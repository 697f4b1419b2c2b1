// TokenReview, SubjectAccessReview and their self-* forms: how the recorder resolves a user's token
// and asks what that user may do. Pure given the authenticator and the policy.
import type { Authenticator, UserInfo } from './identity.ts';
import { authorize, type RbacPolicy, type RequestAttributes } from './rbac.ts';

interface TokenReviewBody {
  spec?: { token?: string; audiences?: string[] };
}

export function tokenReview(authn: Authenticator, body: TokenReviewBody): object {
  const token = body.spec?.token ?? '';
  const audiences = body.spec?.audiences ?? [];
  const result = authn.authenticateToken(token, audiences);
  const status = result.ok
    ? { authenticated: true, user: result.user, audiences: result.audiences }
    : { user: {}, error: `[invalid bearer token, ${result.reason}]` };
  return {
    kind: 'TokenReview',
    apiVersion: 'authentication.k8s.io/v1',
    metadata: { creationTimestamp: null },
    spec: { token, ...(audiences.length ? { audiences } : {}) },
    status,
  };
}

interface AccessReviewSpec {
  user?: string;
  groups?: string[];
  uid?: string;
  extra?: Record<string, string[]>;
  resourceAttributes?: {
    namespace?: string;
    verb?: string;
    group?: string;
    version?: string;
    resource?: string;
    subresource?: string;
    name?: string;
  };
  nonResourceAttributes?: { path?: string; verb?: string };
}

function attributesFromSpec(spec: AccessReviewSpec): RequestAttributes | null {
  const r = spec.resourceAttributes;
  if (r) {
    return {
      verb: r.verb ?? '',
      apiGroup: r.group ?? '',
      resource: r.resource ?? '',
      ...(r.subresource ? { subresource: r.subresource } : {}),
      ...(r.namespace ? { namespace: r.namespace } : {}),
      ...(r.name ? { name: r.name } : {}),
    };
  }
  const n = spec.nonResourceAttributes;
  if (n) return { verb: n.verb ?? '', path: n.path ?? '' };
  return null;
}

function review(kind: string, spec: AccessReviewSpec, user: UserInfo, policy: RbacPolicy): object | null {
  const attrs = attributesFromSpec(spec);
  if (!attrs) return null;
  const allowed = authorize(policy, user, attrs);
  return {
    kind,
    apiVersion: 'authorization.k8s.io/v1',
    metadata: { creationTimestamp: null },
    spec,
    status: allowed ? { allowed: true, reason: 'allowed by the sandbox RBAC policy' } : { allowed: false },
  };
}

/** null when the spec has neither resourceAttributes nor nonResourceAttributes (a 422). */
export function subjectAccessReview(body: { spec?: AccessReviewSpec }, policy: RbacPolicy): object | null {
  const spec = body.spec ?? {};
  const user: UserInfo = {
    username: spec.user ?? '',
    groups: spec.groups ?? [],
    ...(spec.uid ? { uid: spec.uid } : {}),
    ...(spec.extra ? { extra: spec.extra } : {}),
  };
  return review('SubjectAccessReview', spec, user, policy);
}

export function selfSubjectAccessReview(
  body: { spec?: AccessReviewSpec },
  user: UserInfo,
  policy: RbacPolicy,
): object | null {
  return review('SelfSubjectAccessReview', body.spec ?? {}, user, policy);
}

export function selfSubjectReview(user: UserInfo): object {
  return {
    kind: 'SelfSubjectReview',
    apiVersion: 'authentication.k8s.io/v1',
    metadata: { creationTimestamp: null },
    status: { userInfo: user },
  };
}
