// The recorder's own Kubernetes client. Credentials come from --kubeconfig, else the in-cluster
// service account, else the default kubeconfig (common/kubeconfig: kubectl's rules, without
// @kubernetes/client-node, whose import alone cost the recorder ~0.35 s of CPU, ~37 MiB of RSS
// and ~25 MB of live heap that every full GC marked again). Requests go through node:https
// directly because fetch merges repeated Impersonate-Group headers into one comma-joined value,
// which the apiserver would read as a single group named "a,b". node:http sends an array-valued
// header as repeated lines.
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { homedir } from 'node:os';
import { AuditedExecError } from '../../common/errors.ts';
import {
  type ApiServerRequestOptions,
  apiServerRequestOptions,
} from '../../common/kubeconfig/credentials.ts';
import { kubeconfigPaths, loadKubeconfig, type ResolvedKubeconfig } from '../../common/kubeconfig/load.ts';
import { SESSION_EXTRA } from '../../common/session-marker.ts';
import { type InClusterOptions, inClusterAvailable, inClusterConfig } from './in-cluster.ts';

/** Who the apiserver should treat the request as coming from. */
export interface Impersonation {
  user: string;
  groups: string[];
  uid?: string;
  /** Stamped as Impersonate-Extra-audited-exec.io%2Fsession so admission can tell recorded sessions. */
  session?: string;
}

export interface KubeRequest {
  method?: string;
  /** Path and query, e.g. /api/v1/namespaces/default/pods/web */
  path: string;
  body?: unknown;
  impersonate?: Impersonation;
  /** Sent as Audit-ID: the apiserver uses it as the audit event's auditID. */
  auditId?: string;
  timeoutMs?: number;
}

export interface KubeResponse<T = unknown> {
  status: number;
  /** Parsed JSON, or undefined when the body was not JSON. */
  body: T | undefined;
  text: string;
  /** The body as received (logs are bytes, not necessarily UTF-8). */
  bytes: Buffer;
}

export type HeaderValues = Record<string, string | string[]>;

/** TLS material and headers to reach the apiserver; also what the exec WebSocket needs. */
export interface ConnectionOptions extends RequestOptions {
  headers: HeaderValues;
}

export function impersonationHeaders(imp: Impersonation | undefined, auditId?: string): HeaderValues {
  const h: HeaderValues = {};
  if (imp) {
    // The last line behind auth/impersonation.ts: no code path may act as a cluster-admin group.
    if (imp.groups.includes('system:masters')) {
      throw new AuditedExecError('IMPERSONATION_DENIED', 'the recorder never impersonates system:masters');
    }
    h['Impersonate-User'] = imp.user;
    if (imp.groups.length) h['Impersonate-Group'] = [...imp.groups];
    if (imp.uid) h['Impersonate-Uid'] = imp.uid;
    if (imp.session) h[`Impersonate-Extra-${encodeURIComponent(SESSION_EXTRA)}`] = imp.session;
  }
  if (auditId) h['Audit-ID'] = auditId;
  return h;
}

export interface KubeClientOptions {
  kubeconfig?: string;
  context?: string;
  /** Where to look for the service account and KUBERNETES_SERVICE_*; the real ones by default. */
  inCluster?: InClusterOptions;
  /** KUBECONFIG, and the environment an exec credential plugin inherits; process.env by default. */
  env?: Record<string, string | undefined>;
  homeDir?: string;
}

/** Fresh TLS material and headers for one request. */
export type RequestOptionsSource = () => Promise<ApiServerRequestOptions>;

export class KubeClient {
  readonly server: string;
  readonly #requestOptions: RequestOptionsSource;

  constructor(server: string, requestOptions: RequestOptionsSource) {
    this.server = server.replace(/\/+$/, '');
    this.#requestOptions = requestOptions;
  }

  /**
   * --kubeconfig, else the in-cluster service account, else the default kubeconfig's current
   * context. As in client-go, --context without --kubeconfig means a kubeconfig, not the pod.
   */
  static load(options: KubeClientOptions = {}): KubeClient {
    const env = options.env ?? process.env;
    const homeDir = options.homeDir ?? homedir();
    const context = options.context ? { context: options.context } : {};
    if (options.kubeconfig) {
      return KubeClient.fromKubeconfig(
        loadKubeconfig({ kubeconfig: options.kubeconfig, ...context, env, homeDir }),
      );
    }
    if (!options.context && inClusterAvailable(options.inCluster?.dir)) {
      const c = inClusterConfig(options.inCluster);
      return new KubeClient(c.server, c.requestOptions);
    }
    if (kubeconfigPaths({ env, homeDir }).length === 0) {
      throw new AuditedExecError(
        'KUBE_NO_CONFIG',
        'no kubeconfig found ($KUBECONFIG, ~/.kube/config) and not running in a cluster; pass --kubeconfig FILE, or, from a source checkout, `./run start --demo` to try everything on this machine',
      );
    }
    return KubeClient.fromKubeconfig(loadKubeconfig({ ...context, env, homeDir }));
  }

  static fromKubeconfig(kube: ResolvedKubeconfig): KubeClient {
    return new KubeClient(kube.apiServer, () => apiServerRequestOptions(kube));
  }

  /** The cluster CA as PEM, when the kubeconfig names one (used to verify client certificates). */
  async clusterCaPem(): Promise<string | undefined> {
    const o = await this.connectionOptions();
    return o.ca ? o.ca.toString() : undefined;
  }

  /** Fresh each call: token files, projected tokens and exec-plugin credentials rotate. */
  async connectionOptions(extra: HeaderValues = {}): Promise<ConnectionOptions> {
    const o = await this.#requestOptions();
    return { ...o, headers: { ...o.headers, ...extra } };
  }

  async request<T = unknown>(req: KubeRequest): Promise<KubeResponse<T>> {
    const url = new URL(this.server + req.path);
    const payload = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
    const opts = await this.connectionOptions({
      Accept: 'application/json',
      ...(payload ? { 'Content-Type': 'application/json', 'Content-Length': String(payload.length) } : {}),
      ...impersonationHeaders(req.impersonate, req.auditId),
    });
    return new Promise((resolve, reject) => {
      const r = httpsRequest(
        url,
        { ...opts, method: req.method ?? 'GET', timeout: req.timeoutMs ?? 15_000 },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const bytes = Buffer.concat(chunks);
            const text = bytes.toString('utf8');
            let body: T | undefined;
            try {
              body = JSON.parse(text) as T;
            } catch {
              body = undefined;
            }
            resolve({ status: res.statusCode ?? 0, body, text, bytes });
          });
        },
      );
      r.on('timeout', () =>
        r.destroy(
          new AuditedExecError('KUBE_TIMEOUT', `the Kubernetes API at ${this.server} did not answer in time`),
        ),
      );
      r.on('error', (err) =>
        reject(
          err instanceof AuditedExecError
            ? err
            : new AuditedExecError(
                'KUBE_UNREACHABLE',
                `cannot reach the Kubernetes API at ${this.server}: ${err.message}`,
                { cause: err },
              ),
        ),
      );
      r.end(payload);
    });
  }

  /** wss:// URL for a streaming subresource path. */
  wsUrl(path: string): string {
    return this.server.replace(/^http/, 'ws') + path;
  }
}
