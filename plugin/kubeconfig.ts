// The user's kubeconfig, read the way kubectl reads it: --kubeconfig, else every file in
// KUBECONFIG (first file to set a value wins), else ~/.kube/config; --context overrides the current
// context; -n overrides the context namespace. The credentials found here are what the plugin sends
// to the recorder, which resolves them to the user (TokenReview or the client certificate).
import { existsSync, readFileSync } from 'node:fs';
import type https from 'node:https';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { type Cluster, type Context, KubeConfig, loadYaml, type User } from '@kubernetes/client-node';
import { AuditedExecError, errorMessage } from '../common/errors.ts';

export interface KubeconfigOptions {
  /** --kubeconfig */
  kubeconfig?: string;
  /** --context */
  context?: string;
  /** -n/--namespace */
  namespace?: string;
  env: Record<string, string | undefined>;
  homeDir: string;
}

export interface ResolvedKubeconfig {
  kc: KubeConfig;
  context: string;
  namespace: string;
  /** true when -n was given (sessions lists the context namespace only when it was not -A) */
  namespaceFromFlag: boolean;
  /** the apiserver URL of the context */
  apiServer: string;
}

/** What the recorder needs to know who we are. */
export interface Credentials {
  headers: Record<string, string>;
  cert?: Buffer;
  key?: Buffer;
}

/** The files kubectl would read, in precedence order. Missing KUBECONFIG entries are skipped like kubectl. */
export function kubeconfigPaths(opts: Pick<KubeconfigOptions, 'kubeconfig' | 'env' | 'homeDir'>): string[] {
  if (opts.kubeconfig) return [opts.kubeconfig];
  const fromEnv = opts.env.KUBECONFIG;
  if (fromEnv) return fromEnv.split(delimiter).filter((p) => p !== '' && existsSync(p));
  const home = join(opts.homeDir, '.kube', 'config');
  return existsSync(home) ? [home] : [];
}

export function loadKubeconfig(opts: KubeconfigOptions): ResolvedKubeconfig {
  const paths = kubeconfigPaths(opts);
  if (paths.length === 0) {
    throw new AuditedExecError(
      'NO_KUBECONFIG',
      'no kubeconfig found: set KUBECONFIG, pass --kubeconfig, or create ~/.kube/config',
    );
  }
  const kc = mergeFirstWins(paths.map(loadFile));
  if (opts.context) {
    if (!kc.getContextObject(opts.context)) {
      throw new AuditedExecError(
        'NO_CONTEXT',
        `context "${opts.context}" does not exist in ${paths.join(':')}`,
      );
    }
    kc.setCurrentContext(opts.context);
  }
  const contextName = kc.getCurrentContext();
  const context = contextName ? kc.getContextObject(contextName) : null;
  if (!context) {
    throw new AuditedExecError(
      'NO_CONTEXT',
      'the kubeconfig has no current context: pass --context or run "kubectl config use-context NAME"',
    );
  }
  const cluster = kc.getCluster(context.cluster);
  if (!cluster) {
    throw new AuditedExecError(
      'NO_CLUSTER',
      `context "${contextName}" names cluster "${context.cluster}", which does not exist`,
    );
  }
  return {
    kc,
    context: contextName,
    namespace: opts.namespace || context.namespace || 'default',
    namespaceFromFlag: Boolean(opts.namespace),
    apiServer: cluster.server,
  };
}

function loadFile(path: string): KubeConfig {
  const kc = new KubeConfig();
  try {
    kc.loadFromFile(path);
    readTokenFiles(kc, path);
  } catch (err) {
    throw new AuditedExecError('BAD_KUBECONFIG', `cannot load kubeconfig ${path}: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  return kc;
}

/**
 * kubectl's kubeconfig spells it `tokenFile` (relative to the kubeconfig's directory); client-node
 * only knows `token-file`, so we read the file into the user's token ourselves.
 */
function readTokenFiles(kc: KubeConfig, path: string): void {
  const doc = loadYaml<{ users?: Array<{ name?: string; user?: { tokenFile?: string; token?: string } }> }>(
    readFileSync(path, 'utf8'),
  );
  for (const entry of doc?.users ?? []) {
    const file = entry.user?.tokenFile;
    if (!file || entry.user?.token || !entry.name) continue;
    const user = kc.getUser(entry.name);
    if (!user) continue;
    const token = readFileSync(isAbsolute(file) ? file : join(dirname(path), file), 'utf8').trim();
    (user as { token?: string }).token = token;
  }
}

/** kubectl's merge: the first file to define a name (or current-context) wins; client-node's throws. */
function mergeFirstWins(configs: KubeConfig[]): KubeConfig {
  const clusters = new Map<string, Cluster>();
  const users = new Map<string, User>();
  const contexts = new Map<string, Context>();
  let currentContext = '';
  for (const c of configs) {
    if (!currentContext) currentContext = c.getCurrentContext() ?? '';
    for (const x of c.getClusters()) if (!clusters.has(x.name)) clusters.set(x.name, x);
    for (const x of c.getUsers()) if (!users.has(x.name)) users.set(x.name, x);
    for (const x of c.getContexts()) if (!contexts.has(x.name)) contexts.set(x.name, x);
  }
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [...clusters.values()],
    users: [...users.values()],
    contexts: [...contexts.values()],
    currentContext,
  });
  return kc;
}

/**
 * The current user's credentials: bearer token (static, token file, exec plugin or auth provider),
 * client certificate and key, or basic auth. Only these go to the recorder: the cluster CA and any
 * kubeconfig-level impersonation are for the apiserver, not for us.
 */
export async function credentialsFor(kc: KubeConfig): Promise<Credentials> {
  const opts: https.RequestOptions = {};
  try {
    await kc.applyToHTTPSOptions(opts);
  } catch (err) {
    throw new AuditedExecError(
      'CREDENTIALS',
      `cannot get credentials for user "${kc.getCurrentUser()?.name ?? '?'}" from the kubeconfig: ${errorMessage(err)}`,
      { cause: err },
    );
  }
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
