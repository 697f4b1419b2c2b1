// The pod's own service account, read as client-go's rest.InClusterConfig reads it: the apiserver
// from KUBERNETES_SERVICE_HOST/PORT (always https, IPv6 hosts bracketed), the CA from ca.crt, the
// bearer token from the token file. The token is read again for every request because projected
// service-account tokens are rotated by the kubelet while the recorder runs.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AuditedExecError, errorMessage } from '../../common/errors.ts';
import type { ApiServerRequestOptions } from '../../common/kubeconfig/credentials.ts';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface InClusterOptions {
  /** The service-account directory; SERVICE_ACCOUNT_DIR unless a test says otherwise. */
  dir?: string;
  env?: Record<string, string | undefined>;
}

export interface InClusterConfig {
  server: string;
  requestOptions(): Promise<ApiServerRequestOptions>;
}

/** Whether this process runs in a pod with a mounted service-account token. */
export function inClusterAvailable(dir = SERVICE_ACCOUNT_DIR): boolean {
  return existsSync(join(dir, 'token'));
}

export function inClusterConfig(opts: InClusterOptions = {}): InClusterConfig {
  const dir = opts.dir ?? SERVICE_ACCOUNT_DIR;
  const env = opts.env ?? process.env;
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw new AuditedExecError(
      'KUBE_NOT_IN_CLUSTER',
      'unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined',
    );
  }
  const tokenFile = join(dir, 'token');
  readToken(tokenFile); // fail at start-up, as client-go does, not on the first request
  // client-go logs an unreadable ca.crt and goes on with the system roots; so do we (minus the log:
  // the TLS handshake then says what is wrong).
  let ca: Buffer | undefined;
  try {
    ca = readFileSync(join(dir, 'ca.crt'));
  } catch {
    ca = undefined;
  }
  const server = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    server,
    requestOptions: async () => ({
      headers: { Authorization: `Bearer ${readToken(tokenFile)}` },
      ...(ca ? { ca } : {}),
    }),
  };
}

function readToken(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new AuditedExecError(
      'KUBE_CREDENTIALS',
      `cannot read the service-account token ${file}: ${errorMessage(err)}`,
      { cause: err },
    );
  }
}
