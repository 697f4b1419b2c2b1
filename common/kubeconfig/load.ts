// A kubeconfig, read the way kubectl reads it: --kubeconfig, else every file in KUBECONFIG (first
// file to set a value wins), else ~/.kube/config; --context overrides the current context; -n
// overrides the context namespace. The plugin sends the credentials found here to the recorder,
// which resolves them to the user; the recorder uses its own to reach the apiserver.
// We parse it ourselves: importing @kubernetes/client-node costs ~0.4 s and ~90 MB (every plugin
// command; the recorder's heap for its whole life), so it is loaded only for the legacy
// auth-provider users (credentials.ts).
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import yaml from 'js-yaml';
import { AuditedExecError, errorMessage } from '../errors.ts';
import type { KubeCluster, KubeUser, ResolvedKubeconfig } from './types.ts';

// The folder's front door: callers read a kubeconfig and get its credentials from one module.
export { apiServerRequestOptions, type Credentials, credentialsFor } from './credentials.ts';
export type { ExecConfig, KubeCluster, KubeUser, ResolvedKubeconfig } from './types.ts';

export interface KubeconfigOptions {
  /** --kubeconfig */
  kubeconfig?: string;
  /** --context */
  context?: string;
  /** -n/--namespace */
  namespace?: string;
  /** --token: a bearer token used instead of the kubeconfig user's credentials, as kubectl's */
  token?: string;
  env: Record<string, string | undefined>;
  homeDir: string;
}

/** The files kubectl would read, in precedence order. Missing KUBECONFIG entries are skipped like kubectl. */
export function kubeconfigPaths(opts: Pick<KubeconfigOptions, 'kubeconfig' | 'env' | 'homeDir'>): string[] {
  if (opts.kubeconfig) return [opts.kubeconfig];
  const fromEnv = opts.env.KUBECONFIG;
  if (fromEnv) return fromEnv.split(delimiter).filter((p) => p !== '' && existsSync(p));
  const home = join(opts.homeDir, '.kube', 'config');
  return existsSync(home) ? [home] : [];
}

interface KubeContext {
  cluster?: string;
  user?: string;
  namespace?: string;
}

/** The merged view: per name, the first file to define it wins (whole entry, as client-go). */
interface Merged {
  clusters: Map<string, KubeCluster>;
  users: Map<string, KubeUser>;
  contexts: Map<string, KubeContext>;
  currentContext: string;
}

export function loadKubeconfig(opts: KubeconfigOptions): ResolvedKubeconfig {
  const paths = kubeconfigPaths(opts);
  if (paths.length === 0) {
    throw new AuditedExecError(
      'NO_KUBECONFIG',
      'no kubeconfig found: set KUBECONFIG, pass --kubeconfig, or create ~/.kube/config',
    );
  }
  const merged: Merged = { clusters: new Map(), users: new Map(), contexts: new Map(), currentContext: '' };
  for (const path of paths) mergeFile(merged, path);
  if (opts.context && !merged.contexts.has(opts.context)) {
    throw new AuditedExecError(
      'NO_CONTEXT',
      `context "${opts.context}" does not exist in ${paths.join(':')}`,
    );
  }
  const contextName = opts.context || merged.currentContext;
  const context = contextName ? merged.contexts.get(contextName) : undefined;
  if (!context) {
    throw new AuditedExecError(
      'NO_CONTEXT',
      'the kubeconfig has no current context: pass --context or run "kubectl config use-context NAME"',
    );
  }
  const cluster = merged.clusters.get(context.cluster ?? '');
  if (!cluster) {
    throw new AuditedExecError(
      'NO_CLUSTER',
      `context "${contextName}" names cluster "${context.cluster ?? ''}", which does not exist`,
    );
  }
  if (!cluster.server) {
    throw new AuditedExecError(
      'BAD_KUBECONFIG',
      `cluster "${context.cluster}" in the kubeconfig has no server`,
    );
  }
  const userName = context.user ?? '';
  return {
    context: contextName,
    namespace: opts.namespace || context.namespace || 'default',
    namespaceFromFlag: Boolean(opts.namespace),
    apiServer: cluster.server.replace(/\/$/, ''),
    clusterName: context.cluster ?? '',
    cluster,
    userName,
    // kubectl --token: the token is the user's credential; no certificate or exec plugin besides.
    user: opts.token ? { token: opts.token } : (merged.users.get(userName) ?? {}),
    env: opts.env,
  };
}

function mergeFile(merged: Merged, path: string): void {
  let doc: unknown;
  try {
    doc = yaml.load(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new AuditedExecError('BAD_KUBECONFIG', `cannot load kubeconfig ${path}: ${errorMessage(err)}`, {
      cause: err,
    });
  }
  if (doc === null || doc === undefined) return; // an empty file is an empty config, as in kubectl
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new AuditedExecError('BAD_KUBECONFIG', `cannot load kubeconfig ${path}: it is not a YAML mapping`);
  }
  const d = doc as Record<string, unknown>;
  const dir = resolve(dirname(path));
  const cc = d['current-context'];
  if (!merged.currentContext && typeof cc === 'string') merged.currentContext = cc;
  for (const [name, c] of entries(d.clusters, 'cluster', path)) {
    if (!merged.clusters.has(name))
      merged.clusters.set(name, resolveCluster(c as unknown as KubeCluster, dir));
  }
  for (const [name, u] of entries(d.users, 'user', path)) {
    if (!merged.users.has(name)) merged.users.set(name, resolveUser(u as unknown as KubeUser, dir));
  }
  for (const [name, c] of entries(d.contexts, 'context', path)) {
    if (!merged.contexts.has(name)) merged.contexts.set(name, c as unknown as KubeContext);
  }
}

/** A named list (`- {name, cluster: {...}}`) as [name, value] pairs; a nameless entry is an error. */
function entries(list: unknown, key: string, path: string): Array<[string, Record<string, unknown>]> {
  if (!Array.isArray(list)) return [];
  return list.map((elt: unknown, i) => {
    const e = (elt ?? {}) as Record<string, unknown>;
    if (typeof e.name !== 'string' || e.name === '') {
      throw new AuditedExecError(
        'BAD_KUBECONFIG',
        `cannot load kubeconfig ${path}: ${key}s[${i}].name is missing`,
      );
    }
    const value = e[key];
    return [e.name, value && typeof value === 'object' ? (value as Record<string, unknown>) : {}];
  });
}

// client-go resolves file references against the directory of the file that defined the entry
// (clientcmd.ResolveLocalPaths); an exec command only when it contains a path separator.
function resolveCluster(c: KubeCluster, dir: string): KubeCluster {
  const ca = c['certificate-authority'];
  return ca ? { ...c, 'certificate-authority': fromDir(dir, ca) } : c;
}

function resolveUser(u: KubeUser, dir: string): KubeUser {
  const out: KubeUser = { ...u };
  for (const k of ['client-certificate', 'client-key', 'tokenFile'] as const) {
    const v = out[k];
    if (v) out[k] = fromDir(dir, v);
  }
  if (out.exec?.command?.includes('/')) out.exec = { ...out.exec, command: fromDir(dir, out.exec.command) };
  return out;
}

function fromDir(dir: string, file: string): string {
  return isAbsolute(file) ? file : join(dir, file);
}
