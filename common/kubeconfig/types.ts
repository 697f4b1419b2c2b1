// A kubeconfig's entries as load.ts resolves them, kubectl's field names. Their own file so that
// the readers of a resolved kubeconfig (credentials.ts, exec.ts) do not import the loader that
// re-exports them.

/** A kubeconfig cluster entry, kubectl's field names; relative file paths already resolved. */
export interface KubeCluster {
  server: string;
  'certificate-authority'?: string;
  'certificate-authority-data'?: string;
  'insecure-skip-tls-verify'?: boolean;
  'tls-server-name'?: string;
  'proxy-url'?: string;
  'disable-compression'?: boolean;
  extensions?: Array<{ name?: string; extension?: unknown }>;
}

export interface ExecConfig {
  command: string;
  args?: string[];
  env?: Array<{ name: string; value: string }>;
  apiVersion?: string;
  installHint?: string;
  provideClusterInfo?: boolean;
  interactiveMode?: string;
}

/** A kubeconfig user entry, kubectl's field names; relative file paths already resolved. */
export interface KubeUser {
  token?: string;
  tokenFile?: string;
  'client-certificate'?: string;
  'client-certificate-data'?: string;
  'client-key'?: string;
  'client-key-data'?: string;
  username?: string;
  password?: string;
  exec?: ExecConfig;
  'auth-provider'?: { name: string; config?: Record<string, string> };
  as?: string;
}

export interface ResolvedKubeconfig {
  context: string;
  namespace: string;
  /** true when -n was given (sessions lists the context namespace only when it was not -A) */
  namespaceFromFlag: boolean;
  /** the apiserver URL of the context */
  apiServer: string;
  clusterName: string;
  cluster: KubeCluster;
  /** the context's user name; "" when the context names none */
  userName: string;
  /** the context's user; empty (anonymous) when the kubeconfig does not define it, as in kubectl */
  user: KubeUser;
  /** the environment an exec credential plugin inherits */
  env: Record<string, string | undefined>;
}
