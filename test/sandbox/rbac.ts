// A flat RBAC policy: rules bind users/groups straight to verbs on resources, which is all the
// tests need from Roles + Bindings. Pure: authorize() and forbiddenMessage() take values only.
import type { UserInfo } from './identity.ts';

export interface RbacRule {
  users?: string[];
  groups?: string[];
  verbs: string[];
  /** '' is the core group */
  apiGroups?: string[];
  /** 'pods', 'pods/exec', 'userextras/audited-exec.io/session', '*' */
  resources?: string[];
  /** absent = every namespace and cluster-scoped requests */
  namespaces?: string[];
  resourceNames?: string[];
  /** non-resource paths, '*' suffix allowed (e.g. '/api/*') */
  nonResourceURLs?: string[];
}

export interface RbacPolicy {
  rules: RbacRule[];
}

export interface ResourceAttributes {
  verb: string;
  apiGroup: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

export interface NonResourceAttributes {
  verb: string;
  path: string;
}

export type RequestAttributes = ResourceAttributes | NonResourceAttributes;

export function isResource(a: RequestAttributes): a is ResourceAttributes {
  return 'resource' in a;
}

const ALICE_LIKE = (users: string[], groups: string[] = []): RbacRule[] => [
  {
    users,
    groups,
    verbs: ['get', 'list', 'watch', 'create', 'delete'],
    apiGroups: [''],
    resources: ['pods'],
    namespaces: ['default', 'audited-exec'],
  },
  {
    users,
    groups,
    verbs: ['get', 'create'],
    apiGroups: [''],
    resources: ['pods/exec', 'pods/attach'],
    namespaces: ['default', 'audited-exec'],
  },
  {
    users,
    groups,
    verbs: ['get'],
    apiGroups: [''],
    resources: ['pods/log'],
    namespaces: ['default', 'audited-exec'],
  },
  { users, groups, verbs: ['get', 'list'], apiGroups: [''], resources: ['nodes'] },
];

const RECORDER = 'system:serviceaccount:audited-exec:recorder';

export function defaultPolicy(): RbacPolicy {
  return {
    rules: [
      // system:discovery + system:basic-user, as bootstrapped by kube-apiserver
      {
        groups: ['system:authenticated'],
        verbs: ['get'],
        nonResourceURLs: [
          '/api',
          '/api/*',
          '/apis',
          '/apis/*',
          '/version',
          '/version/',
          '/openapi/*',
          '/healthz',
        ],
      },
      {
        groups: ['system:authenticated'],
        verbs: ['create'],
        apiGroups: ['authorization.k8s.io', 'authentication.k8s.io'],
        resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews', 'selfsubjectreviews'],
      },
      // deploy/app/rbac-users.yaml: the plugin finds the recorder through this ConfigMap.
      {
        groups: ['system:authenticated'],
        verbs: ['get'],
        apiGroups: [''],
        resources: ['configmaps'],
        namespaces: ['audited-exec'],
        resourceNames: ['audited-exec-plugin'],
      },
      ...ALICE_LIKE(['alice', 'carol']),
      {
        users: ['bob'],
        verbs: ['get', 'list'],
        apiGroups: [''],
        resources: ['pods'],
        namespaces: ['default'],
      },
      {
        groups: ['auditors'],
        verbs: ['get', 'list'],
        apiGroups: ['audited-exec.io'],
        resources: ['sessions'],
      },
      // deploy/app/rbac-users.yaml's audited-exec:session-moderator, with the auditor's reading
      // rights beside it (a moderator watches the live view before ending a session).
      {
        groups: ['moderators'],
        verbs: ['get', 'list', 'terminate'],
        apiGroups: ['audited-exec.io'],
        resources: ['sessions'],
      },
      {
        users: [RECORDER],
        verbs: ['impersonate'],
        apiGroups: [''],
        resources: ['users', 'groups', 'serviceaccounts'],
      },
      {
        users: [RECORDER],
        verbs: ['impersonate'],
        apiGroups: ['authentication.k8s.io'],
        resources: ['uids', 'userextras/audited-exec.io/session'],
      },
      {
        users: [RECORDER],
        verbs: ['create'],
        apiGroups: ['authentication.k8s.io'],
        resources: ['tokenreviews'],
      },
      {
        users: [RECORDER],
        verbs: ['create'],
        apiGroups: ['authorization.k8s.io'],
        resources: ['subjectaccessreviews'],
      },
      {
        users: [RECORDER],
        verbs: ['get', 'list', 'watch', 'create', 'delete'],
        apiGroups: [''],
        resources: ['pods'],
      },
      {
        users: [RECORDER],
        verbs: ['get', 'create'],
        apiGroups: [''],
        resources: ['pods/exec', 'pods/attach'],
      },
      { users: [RECORDER], verbs: ['get'], apiGroups: [''], resources: ['configmaps'] },
      // The admission policy's params (deploy/app/rbac-recorder.yaml, Role audited-exec:recorder-params).
      {
        users: [RECORDER],
        verbs: ['create', 'update'],
        apiGroups: [''],
        resources: ['configmaps'],
        namespaces: ['audited-exec'],
      },
    ],
  };
}

function has(list: string[] | undefined, value: string): boolean {
  return list === undefined || list.includes('*') || list.includes(value);
}

function subjectMatches(rule: RbacRule, user: UserInfo): boolean {
  if (!rule.users && !rule.groups) return false;
  if (rule.users?.includes(user.username)) return true;
  return rule.groups?.some((g) => user.groups.includes(g)) ?? false;
}

function pathMatches(patterns: string[], path: string): boolean {
  return patterns.some(
    (p) => p === '*' || p === path || (p.endsWith('*') && path.startsWith(p.slice(0, -1))),
  );
}

export function authorize(policy: RbacPolicy, user: UserInfo, attrs: RequestAttributes): boolean {
  if (user.groups.includes('system:masters')) return true;
  return policy.rules.some((rule) => {
    if (!subjectMatches(rule, user) || !has(rule.verbs, attrs.verb)) return false;
    if (!isResource(attrs))
      return rule.nonResourceURLs !== undefined && pathMatches(rule.nonResourceURLs, attrs.path);
    if (rule.nonResourceURLs !== undefined && rule.resources === undefined) return false;
    const full = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
    const resourceOk =
      rule.resources?.some(
        (r) => r === '*' || r === full || (attrs.subresource && r === `*/${attrs.subresource}`),
      ) ?? false;
    if (!resourceOk || !has(rule.apiGroups ?? [''], attrs.apiGroup)) return false;
    if (rule.namespaces && (!attrs.namespace || !has(rule.namespaces, attrs.namespace))) return false;
    if (rule.resourceNames && (!attrs.name || !rule.resourceNames.includes(attrs.name))) return false;
    return true;
  });
}

/**
 * The apiserver's wording (staging/src/k8s.io/apiserver/pkg/endpoints/handlers/responsewriters):
 * `pods "web" is forbidden: User "bob" cannot get resource "pods/exec" in API group "" in the namespace "default"`.
 */
export function forbiddenMessage(username: string, attrs: RequestAttributes): string {
  if (!isResource(attrs)) return `forbidden: User "${username}" cannot ${attrs.verb} path "${attrs.path}"`;
  const resource = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
  const qualified = attrs.apiGroup ? `${attrs.resource}.${attrs.apiGroup}` : attrs.resource;
  const subject = attrs.name ? `${qualified} "${attrs.name}"` : qualified;
  const scope = attrs.namespace ? `in the namespace "${attrs.namespace}"` : 'at the cluster scope';
  return `${subject} is forbidden: User "${username}" cannot ${attrs.verb} resource "${resource}" in API group "${attrs.apiGroup}" ${scope}`;
}
