// Turns the global flags and the environment into a RecorderClient: kubeconfig → credentials,
// discovery → endpoint and trust. Every subcommand that talks to the recorder starts here.
import { readFileSync } from 'node:fs';
import { AuditedExecError, errorMessage } from '../common/errors.ts';
import {
  apiServerRequestOptions,
  credentialsFor,
  loadKubeconfig,
  type ResolvedKubeconfig,
} from '../common/kubeconfig/load.ts';
import type { GlobalFlags } from './cli.ts';
import { RecorderClient } from './client.ts';
import { httpRequest } from './http.ts';
import {
  CONFIGMAP_NAME,
  CONFIGMAP_NAMESPACE,
  discoverServer,
  type PluginConfigMap,
  type RecorderEndpoint,
} from './server-discovery.ts';

export interface Connection {
  client: RecorderClient;
  kube: ResolvedKubeconfig;
  endpoint: RecorderEndpoint;
}

export interface ConnectOptions {
  flags: GlobalFlags;
  env: Record<string, string | undefined>;
  homeDir: string;
}

export async function connect(opts: ConnectOptions): Promise<Connection> {
  const kube = loadKubeconfig({ ...opts.flags, env: opts.env, homeDir: opts.homeDir });
  const endpoint = await discoverServer({
    ...opts.flags,
    env: opts.env,
    readConfigMap: () => readPluginConfigMap(kube),
  });
  const credentials = await credentialsFor(kube);
  const client = new RecorderClient({
    url: endpoint.url,
    headers: credentials.headers,
    tls: {
      ...(credentials.cert ? { cert: credentials.cert } : {}),
      ...(credentials.key ? { key: credentials.key } : {}),
      ...(endpoint.ca ? { ca: loadCa(endpoint.ca) } : {}),
      ...(endpoint.insecureSkipTlsVerify ? { rejectUnauthorized: false } : {}),
    },
  });
  return { client, kube, endpoint };
}

function loadCa(ca: NonNullable<RecorderEndpoint['ca']>): string | Buffer {
  if ('pem' in ca) return ca.pem;
  try {
    return readFileSync(ca.file);
  } catch (err) {
    const where = ca.from === 'flag' ? '--server-ca' : 'AUDITED_EXEC_SERVER_CA';
    throw new AuditedExecError('BAD_CA', `cannot read ${where} file ${ca.file}: ${errorMessage(err)}`, {
      cause: err,
    });
  }
}

/** GET the plugin ConfigMap from the apiserver as the user; null when it does not exist. */
async function readPluginConfigMap(kube: ResolvedKubeconfig): Promise<PluginConfigMap | null> {
  const opts = await apiServerRequestOptions(kube);
  const url = `${kube.apiServer.replace(/\/+$/, '')}/api/v1/namespaces/${CONFIGMAP_NAMESPACE}/configmaps/${CONFIGMAP_NAME}`;
  const what = `the ConfigMap ${CONFIGMAP_NAMESPACE}/${CONFIGMAP_NAME} that names the recorder`;
  let res: Awaited<ReturnType<typeof httpRequest>>;
  try {
    res = await httpRequest({
      url,
      headers: opts.headers,
      tls: {
        ...(opts.ca ? { ca: opts.ca } : {}),
        ...(opts.cert ? { cert: opts.cert } : {}),
        ...(opts.key ? { key: opts.key } : {}),
        ...(opts.rejectUnauthorized !== undefined ? { rejectUnauthorized: opts.rejectUnauthorized } : {}),
        ...(opts.servername ? { servername: opts.servername } : {}),
      },
      timeoutMs: 15_000,
    });
  } catch (err) {
    throw new AuditedExecError(
      'DISCOVERY_FAILED',
      `cannot read ${what} from ${kube.apiServer}: ${errorMessage(err)}; pass --server URL or set AUDITED_EXEC_SERVER`,
      { cause: err },
    );
  }
  if (res.status === 404) return null;
  if (res.status !== 200) {
    throw new AuditedExecError(
      'DISCOVERY_FAILED',
      `cannot read ${what} (HTTP ${res.status}${res.status === 403 ? ', forbidden' : ''}); pass --server URL or set AUDITED_EXEC_SERVER`,
    );
  }
  const data = (JSON.parse(res.body) as { data?: PluginConfigMap }).data;
  return data ?? {};
}
