// Roles + bindings as rendered from deploy/ → the sandbox's flat RBAC rules, so the sandbox
// apiserver authorizes requests with exactly the RBAC that ships.
import type { RbacRule } from '../sandbox/index.ts';
import type { K8sObject } from './manifests.ts';

interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  verbs: string[];
  nonResourceURLs?: string[];
}
interface Subject {
  kind: 'User' | 'Group' | 'ServiceAccount';
  name: string;
  namespace?: string;
}
type Role = K8sObject & { rules?: PolicyRule[] };
type Binding = K8sObject & { roleRef: { kind: string; name: string }; subjects?: Subject[] };

export function flattenRbac(objects: K8sObject[]): RbacRule[] {
  const roles = new Map<string, Role>();
  for (const o of objects) {
    if (o.kind === 'ClusterRole') roles.set(`ClusterRole/${o.metadata.name}`, o as Role);
    if (o.kind === 'Role') roles.set(`Role/${o.metadata.namespace}/${o.metadata.name}`, o as Role);
  }
  const out: RbacRule[] = [];
  for (const o of objects) {
    if (o.kind !== 'RoleBinding' && o.kind !== 'ClusterRoleBinding') continue;
    const b = o as Binding;
    const key =
      b.roleRef.kind === 'ClusterRole'
        ? `ClusterRole/${b.roleRef.name}`
        : `Role/${b.metadata.namespace}/${b.roleRef.name}`;
    const role = roles.get(key);
    if (!role) throw new Error(`${b.kind}/${b.metadata.name} refers to ${key}, which is not rendered`);
    const users = (b.subjects ?? [])
      .filter((s) => s.kind !== 'Group')
      .map((s) => (s.kind === 'ServiceAccount' ? `system:serviceaccount:${s.namespace}:${s.name}` : s.name));
    const groups = (b.subjects ?? []).filter((s) => s.kind === 'Group').map((s) => s.name);
    const namespaces = o.kind === 'RoleBinding' ? [b.metadata.namespace!] : undefined;
    for (const r of role.rules ?? []) {
      out.push({
        users,
        groups,
        verbs: r.verbs,
        ...(r.apiGroups ? { apiGroups: r.apiGroups } : {}),
        ...(r.resources ? { resources: r.resources } : {}),
        ...(r.resourceNames ? { resourceNames: r.resourceNames } : {}),
        ...(r.nonResourceURLs ? { nonResourceURLs: r.nonResourceURLs } : {}),
        ...(namespaces ? { namespaces } : {}),
      });
    }
  }
  return out;
}
