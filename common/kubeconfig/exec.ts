// A kubeconfig exec credential plugin (client.authentication.k8s.io v1 and v1beta1), run the way
// client-go's exec authenticator runs it: the user's environment plus the configured env and
// KUBERNETES_EXEC_INFO, stderr straight to the user, stdin only in interactive mode, and the
// result kept for this process until its expirationTimestamp.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { isatty } from 'node:tty';
import type { ExecConfig, ResolvedKubeconfig } from './types.ts';

export interface ExecResult {
  token?: string;
  cert?: Buffer;
  key?: Buffer;
}

const API_VERSIONS = ['client.authentication.k8s.io/v1', 'client.authentication.k8s.io/v1beta1'];

const cache = new Map<string, { result: ExecResult; expires: number }>();

export async function execCredential(exec: ExecConfig, kube: ResolvedKubeconfig): Promise<ExecResult> {
  const apiVersion = exec.apiVersion ?? '';
  if (!API_VERSIONS.includes(apiVersion)) throw new Error(`exec plugin: invalid apiVersion "${apiVersion}"`);
  if (!exec.command) throw new Error('exec plugin: no command given');
  const interactive = isInteractive(exec, apiVersion);
  const key = JSON.stringify([exec, kube.cluster, interactive]);
  const hit = cache.get(key);
  if (hit && hit.expires > Date.now()) return hit.result;
  const info = {
    apiVersion,
    kind: 'ExecCredential',
    spec: { ...(exec.provideClusterInfo ? { cluster: clusterInfo(kube) } : {}), interactive },
  };
  const env: Record<string, string | undefined> = { ...kube.env };
  for (const e of exec.env ?? []) env[e.name] = e.value;
  env.KUBERNETES_EXEC_INFO = JSON.stringify(info);
  const stdout = await run(exec, env, interactive);
  const { result, expires } = parseOutput(stdout, apiVersion);
  cache.set(key, { result, expires });
  return result;
}

function isInteractive(exec: ExecConfig, apiVersion: string): boolean {
  // v1 makes the mode mandatory; v1beta1 defaults to IfAvailable (client-go's validation)
  const mode = exec.interactiveMode || (apiVersion.endsWith('/v1beta1') ? 'IfAvailable' : '');
  if (mode === 'Never') return false;
  if (mode !== 'IfAvailable' && mode !== 'Always') {
    throw new Error(
      mode
        ? `exec plugin: invalid interactiveMode "${mode}" (want Never, IfAvailable or Always)`
        : `exec plugin: interactiveMode must be specified for ${apiVersion}`,
    );
  }
  const terminal = isatty(0);
  if (mode === 'Always' && !terminal) {
    throw new Error('exec plugin cannot support interactive mode: standard input is not a terminal');
  }
  return terminal;
}

/** client-go's ExecCredential spec.cluster, sent only when provideClusterInfo is set. */
function clusterInfo(kube: ResolvedKubeconfig): Record<string, unknown> {
  const c = kube.cluster;
  const caFile = c['certificate-authority'];
  const caData = c['certificate-authority-data'] || (caFile ? readFileSync(caFile).toString('base64') : '');
  const ext = c.extensions?.find((e) => e.name === 'client.authentication.k8s.io/exec')?.extension;
  return {
    server: c.server,
    ...(c['tls-server-name'] ? { 'tls-server-name': c['tls-server-name'] } : {}),
    ...(c['insecure-skip-tls-verify'] ? { 'insecure-skip-tls-verify': true } : {}),
    ...(caData ? { 'certificate-authority-data': caData } : {}),
    ...(c['proxy-url'] ? { 'proxy-url': c['proxy-url'] } : {}),
    ...(c['disable-compression'] ? { 'disable-compression': true } : {}),
    ...(ext !== undefined ? { config: ext } : {}),
  };
}

function run(
  exec: ExecConfig,
  env: Record<string, string | undefined>,
  interactive: boolean,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(exec.command, exec.args ?? [], {
      env,
      stdio: [interactive ? 'inherit' : 'ignore', 'pipe', 'inherit'],
    });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') return reject(new Error(`exec: ${err.message}`, { cause: err }));
      // the install hint is shown only when the binary is missing, as in client-go
      const hint = exec.installHint ? `\n\n${exec.installHint}` : '';
      reject(new Error(`exec: executable ${exec.command} not found${hint}`, { cause: err }));
    });
    child.on('close', (code, signal) => {
      if (code === 0) return resolve(Buffer.concat(chunks).toString('utf8'));
      const how = signal ? `was killed by ${signal}` : `failed with exit code ${code}`;
      reject(new Error(`exec: executable ${exec.command} ${how}`));
    });
  });
}

interface ExecCredentialOutput {
  apiVersion?: string;
  kind?: string;
  status?: {
    token?: string;
    clientCertificateData?: string;
    clientKeyData?: string;
    expirationTimestamp?: string;
  };
}

function parseOutput(stdout: string, apiVersion: string): { result: ExecResult; expires: number } {
  let out: ExecCredentialOutput;
  try {
    out = JSON.parse(stdout) as ExecCredentialOutput;
  } catch (err) {
    throw new Error('exec plugin: the output is not an ExecCredential JSON object', { cause: err });
  }
  if (out?.kind !== 'ExecCredential') throw new Error('exec plugin: the output is not an ExecCredential');
  if (out.apiVersion !== apiVersion) {
    throw new Error(
      `exec plugin is configured to use API version ${apiVersion}, plugin returned version ${out.apiVersion}`,
    );
  }
  const s = out.status;
  if (!s) throw new Error("exec plugin didn't return a status field");
  const cert = s.clientCertificateData;
  const key = s.clientKeyData;
  if (!s.token && !cert && !key) throw new Error("exec plugin didn't return a token or cert/key pair");
  if (Boolean(cert) !== Boolean(key))
    throw new Error('exec plugin returned only certificate or key, not both');
  // status.clientCertificateData is PEM text, not base64 (unlike the kubeconfig's *-data fields)
  const result: ExecResult = {
    ...(s.token ? { token: s.token } : {}),
    ...(cert && key ? { cert: Buffer.from(cert), key: Buffer.from(key) } : {}),
  };
  const expires = s.expirationTimestamp ? Date.parse(s.expirationTimestamp) : Number.POSITIVE_INFINITY;
  return { result, expires: Number.isNaN(expires) ? 0 : expires };
}
