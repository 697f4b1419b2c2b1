// The current kubeconfig user's credentials, as kubectl (client-go) derives them: bearer token
// (static, tokenFile, exec plugin), client certificate and key (data wins over file), basic auth.
// Legacy auth-provider users go through @kubernetes/client-node, imported only then: its import
// alone costs ~0.4 s and ~90 MB, which every other command would pay.
import { readFileSync } from 'node:fs';
import type https from 'node:https';
import { AuditedExecError, errorMessage } from '../errors.ts';
import { execCredential } from './exec.ts';
import type { KubeUser, ResolvedKubeconfig } from './types.ts';

/** What the recorder needs to know who we are. */
export interface Credentials {
  headers: Record<string, string>;
  cert?: Buffer;
  key?: Buffer;
}

/** What a request to the apiserver itself needs: the user's credentials plus the cluster's trust. */
export interface ApiServerRequestOptions extends Credentials {
  ca?: Buffer;
  rejectUnauthorized?: boolean;
  servername?: string;
}

/**
 * The current user's credentials. Only these go to the recorder: the cluster CA and any
 * kubeconfig-level impersonation are for the apiserver, not for us.
 */
export async function credentialsFor(kube: ResolvedKubeconfig): Promise<Credentials> {
  try {
    return kube.user['auth-provider'] ? await viaClientNode(kube) : await ownCredentials(kube);
  } catch (err) {
    throw new AuditedExecError(
      'CREDENTIALS',
      `cannot get credentials for user "${kube.userName || '?'}" from the kubeconfig: ${errorMessage(err)}`,
      { cause: err },
    );
  }
}

/** The user's credentials plus the cluster CA, TLS options and impersonation, for the apiserver. */
export async function apiServerRequestOptions(kube: ResolvedKubeconfig): Promise<ApiServerRequestOptions> {
  const creds = await credentialsFor(kube);
  const c = kube.cluster;
  let ca: Buffer | undefined;
  try {
    ca = fileOrData(c['certificate-authority'], c['certificate-authority-data']);
  } catch (err) {
    throw new AuditedExecError(
      'BAD_KUBECONFIG',
      `cannot read the certificate authority of cluster "${kube.clusterName}": ${errorMessage(err)}`,
      { cause: err },
    );
  }
  const headers = { ...creds.headers, ...(kube.user.as ? { 'Impersonate-User': kube.user.as } : {}) };
  return {
    ...creds,
    headers,
    ...(ca ? { ca } : {}),
    ...(c['insecure-skip-tls-verify'] === true ? { rejectUnauthorized: false } : {}),
    ...(c['tls-server-name'] ? { servername: c['tls-server-name'] } : {}),
  };
}

async function ownCredentials(kube: ResolvedKubeconfig): Promise<Credentials> {
  const u = kube.user;
  const headers: Record<string, string> = {};
  let cert = fileOrData(u['client-certificate'], u['client-certificate-data']);
  let key = fileOrData(u['client-key'], u['client-key-data']);
  const token = u.token || (u.tokenFile ? readTokenFile(u.tokenFile) : '');
  if (token) headers.Authorization = `Bearer ${token}`;
  else if (u.username || u.password) {
    headers.Authorization = `Basic ${Buffer.from(`${u.username ?? ''}:${u.password ?? ''}`).toString('base64')}`;
  }
  if (u.exec) {
    const got = await execCredential(u.exec, kube);
    if (got.token) headers.Authorization = `Bearer ${got.token}`;
    if (got.cert && got.key) {
      cert = got.cert;
      key = got.key;
    }
  }
  return { headers, ...(cert ? { cert } : {}), ...(key ? { key } : {}) };
}

function readTokenFile(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new Error(`cannot read tokenFile ${file}: ${errorMessage(err)}`, { cause: err });
  }
}

/** client-go's dataFromSliceOrFile: inline base64 data wins over the file. */
function fileOrData(file: string | undefined, data: string | undefined): Buffer | undefined {
  if (data) return Buffer.from(data, 'base64');
  return file ? readFileSync(file) : undefined;
}

/** A legacy auth-provider (oidc, azure, gcp): client-node knows them; we load it only here. */
async function viaClientNode(kube: ResolvedKubeconfig): Promise<Credentials> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  const user: KubeUser = { ...kube.user };
  if (user.tokenFile && !user.token) user.token = readTokenFile(user.tokenFile);
  kc.loadFromString(
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: kube.clusterName, cluster: kube.cluster }],
      users: [{ name: kube.userName, user }],
      contexts: [{ name: kube.context, context: { cluster: kube.clusterName, user: kube.userName } }],
      'current-context': kube.context,
    }),
  );
  const opts: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  const headers: Record<string, string> = {};
  const h = (opts.headers ?? {}) as Record<string, string | undefined>;
  const authorization = h.Authorization ?? h.authorization;
  if (authorization) headers.Authorization = authorization;
  else if (opts.auth) headers.Authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
  return {
    headers,
    ...(Buffer.isBuffer(opts.cert) ? { cert: opts.cert } : {}),
    ...(Buffer.isBuffer(opts.key) ? { key: opts.key } : {}),
  };
}
