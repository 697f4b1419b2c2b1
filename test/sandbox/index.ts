/**
 * The sandbox cluster: a stand-in kube-apiserver (HTTPS, tokens + client certs, impersonation,
 * RBAC, audit log, exec/attach over v5.channel.k8s.io) with real runc pods, for tests and
 * `npm run sandbox`. Public API (others depend on exactly this):
 *
 *   import { startSandbox } from '../sandbox/index.ts';
 *   const sb = await startSandbox({ dir?, runtime?: 'auto' | 'runc' | 'pty' });
 *   sb.url                      https://127.0.0.1:PORT
 *   sb.caPem                    CA PEM (serving cert and client certs chain to it)
 *   sb.kubeconfigPath           one context per user (named after the user), current-context alice
 *   sb.shimTokenFile            the shim's token file (audience audited-exec, bound to this node)
 *   sb.kubeconfigFor(user)      path of a kubeconfig whose current context is `user`
 *   sb.tokens                   bearer tokens: admin, alice, bob, auditor, moderator, recorder, shim
 *   sb.clientCert               { cert, key } PEM for carol (CN=carol, O=dev)
 *   sb.runtime                  'runc' | 'pty' (pty = degraded, announced on stderr)
 *   sb.nodeName                 os.hostname()
 *   sb.auditLogPath             audit.k8s.io/v1 Event JSON lines
 *   sb.readAudit()              Promise<AuditEvent[]>
 *   sb.createPod(ns, pod)       as POST (as admin), resolves when Running
 *   sb.deletePod(ns, name)      as DELETE, resolves when the containers are gone
 *   sb.podContainerId(ns, pod, container?)   64-hex id (containerID 'runc://<id>')
 *   sb.serviceAccountToken({ namespace, name, nodeName?, audience? })
 *   sb.shimToken(node?)         what a shim DaemonSet pod on a node mounts (audience audited-exec)
 *   sb.setRbac(policy)          replace the RBAC policy at run time (defaultPolicy() to restore)
 *   sb.putConfigMap(ns, name, data)   creates or replaces a ConfigMap (as an admin would)
 *   sb.stop()                   kills every container, removes cgroups/mounts, closes the server
 *
 * Users: admin (system:masters), alice (dev), bob (viewers), auditor (auditors), moderator
 * (moderators: get, list and terminate sessions), carol (client
 * cert, O=dev), recorder = system:serviceaccount:audited-exec:recorder, shim =
 * system:serviceaccount:audited-exec:shim (extra authentication.kubernetes.io/node-name). RBAC in
 * rbac.ts defaultPolicy(). Pods default/web (sandbox/bash) and default/noenv (no `env`), container app.
 */
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditedExecError } from '../../common/errors.ts';
import { SHIM_AUDIENCE } from '../../common/shim-protocol.ts';
import { type AuditEvent, AuditLog } from './audit-log.ts';
import { createPki } from './ca.ts';
import { Authenticator, type ServiceAccountTokenOptions } from './identity.ts';
import { renderKubeconfig } from './kubeconfig.ts';
import { PodManager, type PodObject } from './pods.ts';
import { PtyRuntime } from './pty-runtime.ts';
import { defaultPolicy, type RbacPolicy } from './rbac.ts';
import { findRunc, RuncRuntime } from './runc.ts';
import type { ContainerRuntime } from './runtime.ts';
import { NAMESPACES, namespaceObject, nodeObject, PRESET_PODS } from './seed.ts';
import { ApiServer } from './server.ts';
import { ObjectStore } from './store.ts';

export type { AuditEvent } from './audit-log.ts';
export type { UserInfo } from './identity.ts';
export { defaultPolicy, type RbacPolicy, type RbacRule } from './rbac.ts';

export interface SandboxOptions {
  /** working directory (certs, kubeconfigs, audit log, container bundles); a new temp dir by default */
  dir?: string;
  runtime?: 'auto' | 'runc' | 'pty';
  /** listen port, 0 (default) = any */
  port?: number;
  /** where degraded-mode and start messages go; default process.stderr */
  log?: (line: string) => void;
}

export interface Sandbox {
  url: string;
  caPem: string;
  kubeconfigPath: string;
  kubeconfigFor(user: string): string;
  /** the node shim's token, as a DaemonSet gets it: audience audited-exec, bound to this node */
  shimTokenFile: string;
  tokens: Record<string, string>;
  clientCert: { cert: string; key: string };
  runtime: 'runc' | 'pty';
  nodeName: string;
  dir: string;
  auditLogPath: string;
  readAudit(): Promise<AuditEvent[]>;
  createPod(namespace: string, pod: object): Promise<void>;
  deletePod(namespace: string, name: string): Promise<void>;
  podContainerId(namespace: string, pod: string, container?: string): string;
  serviceAccountToken(opts: ServiceAccountTokenOptions): string;
  /** The projected token a shim DaemonSet pod mounts: the shim service account, bound to `node`
   *  (default: this sandbox's node), audience audited-exec. */
  shimToken(node?: string): string;
  /** The token stops authenticating (requests and TokenReview), as when its Secret is deleted. */
  revokeToken(token: string): void;
  setRbac(policy: RbacPolicy): void;
  putConfigMap(namespace: string, name: string, data: Record<string, string>): void;
  stop(): Promise<void>;
}

export const RECORDER_SA = { namespace: 'audited-exec', name: 'recorder' } as const;
export const SHIM_SA = { namespace: 'audited-exec', name: 'shim' } as const;
const HOST_IP = '127.0.0.1';

async function pickRuntime(
  choice: SandboxOptions['runtime'],
  dir: string,
  log: (l: string) => void,
): Promise<ContainerRuntime> {
  const runc = await findRunc();
  const root = process.getuid?.() === 0;
  if (choice === 'runc' || (choice !== 'pty' && runc && root)) {
    if (!runc || !root) {
      throw new AuditedExecError(
        'SANDBOX_NO_RUNC',
        `runtime 'runc' needs root and runc (${!root ? 'not root' : 'runc not found'})`,
      );
    }
    return new RuncRuntime({ dir, runc });
  }
  const why = choice === 'pty' ? 'asked for' : !root ? 'not running as root' : 'runc is not installed';
  log(
    `SANDBOX DEGRADED MODE (pty runtime, ${why}): pods are plain host processes, no namespaces, cgroups or container ttys.`,
  );
  return new PtyRuntime({ dir });
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const log = options.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const ownsDir = !options.dir;
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'audited-exec-sandbox-')));
  await mkdir(dir, { recursive: true });
  const nodeName = hostname();
  const pki = await createPki(join(dir, 'pki'));
  const carol = await pki.issueClient('carol', ['dev']);
  const authn = new Authenticator();
  const tokens: Record<string, string> = {
    ...authn.tokens,
    recorder: authn.serviceAccountToken({ ...RECORDER_SA, expirationSeconds: 7 * 86_400 }),
    shim: authn.serviceAccountToken({ ...SHIM_SA, nodeName, expirationSeconds: 7 * 86_400 }),
  };
  let policy = defaultPolicy();
  const audit = new AuditLog(join(dir, 'audit.log'));
  await writeFile(audit.path, '');
  const store = new ObjectStore();
  for (const ns of NAMESPACES) store.put('namespaces', namespaceObject(ns));
  store.put('nodes', nodeObject(nodeName, HOST_IP));
  const runtime = await pickRuntime(options.runtime ?? 'auto', dir, log);
  const pods = new PodManager({ store, runtime, nodeName, hostIP: HOST_IP });
  const server = new ApiServer({
    tls: { cert: pki.server.cert, key: pki.server.key, ca: pki.caPem },
    authn,
    policy: () => policy,
    audit,
    store,
    pods,
  });
  let stopped = false;
  // A process that exits without stop(): runc.ts's exit hook (registered before this one, at the
  // first container) kills the containers and unmounts; then the temp dir goes too.
  const onExit = (): void => {
    try {
      if (ownsDir) rmSync(dir, { recursive: true, force: true });
    } catch {}
  };
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    process.off('exit', onExit);
    await server.close().catch(() => {});
    await pods.close();
    await runtime.close();
    if (ownsDir) await rm(dir, { recursive: true, force: true }).catch(() => {});
  };
  try {
    const url = await server.listen(options.port ?? 0);
    const users = [
      ...Object.keys(tokens).map((name) => ({ name, token: tokens[name]! })),
      { name: 'carol', clientCert: carol },
    ];
    const kubeconfigs = new Map<string, string>();
    for (const u of users) {
      const path = join(dir, `kubeconfig-${u.name}`);
      await writeFile(path, renderKubeconfig({ server: url, caPem: pki.caPem, users, currentUser: u.name }), {
        mode: 0o600,
      });
      kubeconfigs.set(u.name, path);
    }
    // What a DaemonSet's projected token would hold: the recorder's audience, bound to this node.
    const shimTokenFile = join(dir, 'shim.token');
    await writeFile(
      shimTokenFile,
      authn.serviceAccountToken({
        ...SHIM_SA,
        nodeName,
        audience: SHIM_AUDIENCE,
        expirationSeconds: 7 * 86_400,
      }),
      { mode: 0o600 },
    );
    const kubeconfigPath = join(dir, 'kubeconfig');
    await writeFile(
      kubeconfigPath,
      renderKubeconfig({ server: url, caPem: pki.caPem, users, currentUser: 'alice' }),
      { mode: 0o600 },
    );
    const createPod = async (ns: string, pod: object): Promise<void> => {
      const { pod: stored, started } = pods.create(ns, pod as PodObject);
      await started;
      void stored;
    };
    await Promise.all(PRESET_PODS.map((p) => createPod('default', p)));
    process.once('exit', onExit);
    return {
      url,
      caPem: pki.caPem,
      kubeconfigPath,
      shimTokenFile,
      kubeconfigFor: (user) => {
        const p = kubeconfigs.get(user);
        if (!p) throw new AuditedExecError('SANDBOX_NO_USER', `the sandbox has no user ${user}`);
        return p;
      },
      tokens,
      clientCert: carol,
      runtime: runtime.kind,
      nodeName,
      dir,
      auditLogPath: audit.path,
      readAudit: () => audit.read(),
      createPod,
      deletePod: async (ns, name) => {
        await pods.delete(ns, name);
      },
      podContainerId: (ns, pod, container) => {
        const c = pods.container(ns, pod, container);
        if (!c) throw new AuditedExecError('SANDBOX_NO_POD', `no running container for pod ${ns}/${pod}`);
        return c.id;
      },
      serviceAccountToken: (opts) => authn.serviceAccountToken(opts),
      shimToken: (node = nodeName) =>
        authn.serviceAccountToken({ ...SHIM_SA, nodeName: node, audience: 'audited-exec' }),
      revokeToken: (token) => authn.revoke(token),
      setRbac: (p) => {
        policy = p;
      },
      putConfigMap: (namespace, name, data) => {
        store.put('configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace, name }, data });
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
