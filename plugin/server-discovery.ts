// Where the recorder is and how to trust it. The order is part of the user interface (--help says
// it, cli.ts DISCOVERY_HELP): flag, environment, then the cluster's ConfigMap, read lazily so a
// user with --server never needs RBAC on that ConfigMap.
import { AuditedExecError } from '../common/errors.ts';

export const CONFIGMAP_NAMESPACE = 'audited-exec';
export const CONFIGMAP_NAME = 'audited-exec-plugin';

/** The ConfigMap's data, as far as we use it. */
export interface PluginConfigMap {
  server?: string;
  'ca.crt'?: string;
}

export type CaSource = { file: string; from: 'flag' | 'env' } | { pem: string; from: 'configmap' };

export interface RecorderEndpoint {
  /** base URL without a trailing slash */
  url: string;
  /** absent: the system's trusted roots */
  ca?: CaSource;
  insecureSkipTlsVerify: boolean;
  source: 'flag' | 'env' | 'configmap';
}

export interface DiscoveryOptions {
  server?: string;
  serverCa?: string;
  insecureSkipTlsVerify?: boolean;
  env: Record<string, string | undefined>;
  /** Reads the ConfigMap with the user's credentials; null when it does not exist. */
  readConfigMap: () => Promise<PluginConfigMap | null>;
}

export async function discoverServer(opts: DiscoveryOptions): Promise<RecorderEndpoint> {
  const insecureSkipTlsVerify = Boolean(opts.insecureSkipTlsVerify);
  const explicitCa: CaSource | undefined = opts.serverCa
    ? { file: opts.serverCa, from: 'flag' }
    : opts.env.AUDITED_EXEC_SERVER_CA
      ? { file: opts.env.AUDITED_EXEC_SERVER_CA, from: 'env' }
      : undefined;

  const given = opts.server
    ? { url: opts.server, source: 'flag' as const }
    : opts.env.AUDITED_EXEC_SERVER
      ? { url: opts.env.AUDITED_EXEC_SERVER, source: 'env' as const }
      : null;
  if (given) {
    return {
      url: normalizeUrl(given.url, given.source),
      source: given.source,
      insecureSkipTlsVerify,
      ...ca(explicitCa),
    };
  }

  const cm = await opts.readConfigMap();
  if (!cm?.server) {
    throw new AuditedExecError(
      'NO_SERVER',
      `no audited-exec recorder configured: pass --server URL, set AUDITED_EXEC_SERVER, or ask your administrator ` +
        `to create the ConfigMap ${CONFIGMAP_NAME} (key "server") in namespace ${CONFIGMAP_NAMESPACE}`,
    );
  }
  const cmCa: CaSource | undefined = cm['ca.crt'] ? { pem: cm['ca.crt'], from: 'configmap' } : undefined;
  return {
    url: normalizeUrl(cm.server, 'configmap'),
    source: 'configmap',
    insecureSkipTlsVerify,
    ...ca(explicitCa ?? cmCa),
  };
}

function ca(source: CaSource | undefined): { ca?: CaSource } {
  return source ? { ca: source } : {};
}

function normalizeUrl(raw: string, source: RecorderEndpoint['source']): string {
  const where = { flag: '--server', env: 'AUDITED_EXEC_SERVER', configmap: `ConfigMap ${CONFIGMAP_NAME}` }[
    source
  ];
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new AuditedExecError(
      'BAD_SERVER_URL',
      `${where} is not a URL: "${raw}" (expected https://HOST[:PORT])`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new AuditedExecError('BAD_SERVER_URL', `${where} must be an https:// URL, not "${raw}"`);
  }
  return url.toString().replace(/\/+$/, '');
}
