// Discovery documents: what kubectl and client-node read before any real call. Legacy (non
// aggregated) JSON only; client-go falls back to it when the aggregated form is not offered.

interface ApiResource {
  name: string;
  singularName: string;
  namespaced: boolean;
  kind: string;
  verbs: string[];
  shortNames?: string[];
}

const R = (
  name: string,
  kind: string,
  namespaced: boolean,
  verbs: string[],
  shortNames?: string[],
): ApiResource => ({
  name,
  singularName: name.includes('/') ? '' : kind.toLowerCase(),
  namespaced,
  kind,
  verbs,
  ...(shortNames ? { shortNames } : {}),
});

const RW = ['create', 'delete', 'get', 'list', 'watch'];

export const CORE_RESOURCES: ApiResource[] = [
  R('configmaps', 'ConfigMap', true, RW, ['cm']),
  R('namespaces', 'Namespace', false, ['get', 'list', 'watch'], ['ns']),
  R('nodes', 'Node', false, ['get', 'list', 'watch'], ['no']),
  R('pods', 'Pod', true, RW, ['po']),
  R('pods/attach', 'PodAttachOptions', true, ['create', 'get']),
  R('pods/exec', 'PodExecOptions', true, ['create', 'get']),
  R('pods/log', 'Pod', true, ['get']),
  R('pods/status', 'Pod', true, ['get']),
  R('serviceaccounts/token', 'TokenRequest', true, ['create']),
];

const GROUPS: Record<string, ApiResource[]> = {
  'authentication.k8s.io': [
    R('selfsubjectreviews', 'SelfSubjectReview', false, ['create']),
    R('tokenreviews', 'TokenReview', false, ['create']),
  ],
  'authorization.k8s.io': [
    R('selfsubjectaccessreviews', 'SelfSubjectAccessReview', false, ['create']),
    R('subjectaccessreviews', 'SubjectAccessReview', false, ['create']),
  ],
};

export function versionInfo(): object {
  return {
    major: '1',
    minor: '32',
    gitVersion: 'v1.32.0-audited-exec-sandbox',
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2024-12-11T00:00:00Z',
    goVersion: 'go1.23.3',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

export function apiVersions(serverAddress: string): object {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

function groupEntry(name: string): object {
  const gv = { groupVersion: `${name}/v1`, version: 'v1' };
  return { name, versions: [gv], preferredVersion: gv };
}

export function apiGroupList(): object {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: Object.keys(GROUPS).map(groupEntry) };
}

export function apiGroup(name: string): object | null {
  return GROUPS[name] ? { kind: 'APIGroup', apiVersion: 'v1', ...groupEntry(name) } : null;
}

export function resourceList(groupVersion: string): object | null {
  const resources = groupVersion === 'v1' ? CORE_RESOURCES : GROUPS[groupVersion.replace(/\/v1$/, '')];
  if (!resources || (groupVersion !== 'v1' && !groupVersion.endsWith('/v1'))) return null;
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion, resources };
}

/** meta.k8s.io/v1 Table for `kubectl get` (server-side printing). */
export function toTable(resource: string, items: Record<string, unknown>[], now = Date.now()): object {
  const age = (o: Record<string, unknown>): string => {
    const ts = (o.metadata as { creationTimestamp?: string }).creationTimestamp;
    const s = ts ? Math.max(0, Math.floor((now - Date.parse(ts)) / 1000)) : 0;
    return s < 120 ? `${s}s` : s < 7200 ? `${Math.floor(s / 60)}m` : `${Math.floor(s / 3600)}h`;
  };
  const name = (o: Record<string, unknown>): string => (o.metadata as { name: string }).name;
  const col = (n: string, type = 'string') => ({
    name: n,
    type,
    format: n === 'Name' ? 'name' : '',
    description: n,
    priority: 0,
  });
  if (resource === 'pods') {
    return {
      kind: 'Table',
      apiVersion: 'meta.k8s.io/v1',
      metadata: {},
      columnDefinitions: [col('Name'), col('Ready'), col('Status'), col('Restarts', 'string'), col('Age')],
      rows: items.map((o) => {
        const st = (o.status ?? {}) as { phase?: string; containerStatuses?: { ready?: boolean }[] };
        const total = (o.spec as { containers?: unknown[] }).containers?.length ?? 0;
        const ready = st.containerStatuses?.filter((c) => c.ready).length ?? 0;
        return { cells: [name(o), `${ready}/${total}`, st.phase ?? 'Pending', '0', age(o)], object: o };
      }),
    };
  }
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: {},
    columnDefinitions: [col('Name'), col('Age')],
    rows: items.map((o) => ({ cells: [name(o), age(o)], object: o })),
  };
}
