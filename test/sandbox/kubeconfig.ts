// kubeconfig files for the sandbox: one context per user (named after the user), certificate data
// inline so the files are self-contained. Written as JSON, which every kubeconfig reader accepts
// (it is YAML).

export interface KubeconfigUser {
  name: string;
  token?: string;
  clientCert?: { cert: string; key: string };
}

export interface KubeconfigOptions {
  server: string;
  caPem: string;
  users: KubeconfigUser[];
  currentUser: string;
  clusterName?: string;
  namespace?: string;
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');

export function renderKubeconfig(opts: KubeconfigOptions): string {
  const cluster = opts.clusterName ?? 'sandbox';
  return `${JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      preferences: {},
      clusters: [
        { name: cluster, cluster: { server: opts.server, 'certificate-authority-data': b64(opts.caPem) } },
      ],
      users: opts.users.map((u) => ({
        name: u.name,
        user: u.token
          ? { token: u.token }
          : { 'client-certificate-data': b64(u.clientCert!.cert), 'client-key-data': b64(u.clientCert!.key) },
      })),
      contexts: opts.users.map((u) => ({
        name: u.name,
        context: { cluster, user: u.name, namespace: opts.namespace ?? 'default' },
      })),
      'current-context': opts.currentUser,
    },
    null,
    2,
  )}\n`;
}
