import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient } from '../../../server/kube/client.ts';
import { loadTlsIdentity } from '../../../server/tls.ts';

let server: Server;
let dir: string;
let port: number;
let caPem: string;
let seen: string[] = [];

const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const header = (name: string) => {
  const pairs: [string, string][] = [];
  for (let i = 0; i < seen.length; i += 2) pairs.push([seen[i]!.toLowerCase(), seen[i + 1]!]);
  return pairs.filter(([k]) => k === name).map(([, v]) => v);
};

// One cluster (the local test server), one context per user.
function kubeconfig(name: string, users: Record<string, unknown>, server = `https://127.0.0.1:${port}`) {
  const names = Object.keys(users);
  return file(
    name,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'c',
          cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64') },
        },
      ],
      contexts: names.map((n) => ({ name: n, context: { cluster: 'c', user: n } })),
      users: names.map((n) => ({ name: n, user: users[n] })),
      'current-context': names[0],
    }),
  );
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'server-kube-test-'));
  const tls = await loadTlsIdentity({ dataDir: dir });
  caPem = tls.cert.toString();
  server = createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    seen = req.rawHeaders;
    res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"ok":true}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => {
  server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('KubeClient from a kubeconfig', () => {
  it('sends each impersonated group as its own header line, plus uid, session extra and Audit-ID', async () => {
    const kube = KubeClient.load({
      kubeconfig: kubeconfig('token.yaml', { u: { token: 'recorder-token' } }),
    });
    const res = await kube.request({
      path: '/api/v1/namespaces/default/pods/web',
      impersonate: { user: 'alice', groups: ['dev', 'ops,oncall'], uid: 'u-1', session: 'sess-1' },
      auditId: 'sess-1',
    });
    expect(res).toMatchObject({ status: 200, body: { ok: true } });
    expect(header('impersonate-group')).toEqual(['dev', 'ops,oncall']);
    expect(header('impersonate-user')).toEqual(['alice']);
    expect(header('impersonate-uid')).toEqual(['u-1']);
    expect(header('impersonate-extra-audited-exec.io%2fsession')).toEqual(['sess-1']);
    expect(header('audit-id')).toEqual(['sess-1']);
    expect(header('authorization')).toEqual(['Bearer recorder-token']);
    expect(await kube.clusterCaPem()).toBe(caPem);
  });

  it('re-reads a tokenFile for every request and honours --context', async () => {
    const token = file('token', 'first\n');
    const kube = KubeClient.load({
      kubeconfig: kubeconfig('tokenfile.yaml', { other: { token: 'x' }, tf: { tokenFile: token } }),
      context: 'tf',
    });
    await kube.request({ path: '/api' });
    expect(header('authorization')).toEqual(['Bearer first']);
    writeFileSync(token, 'second\n');
    await kube.request({ path: '/api' });
    expect(header('authorization')).toEqual(['Bearer second']);
  });

  it('names the cluster in a connection error', async () => {
    const kube = KubeClient.load({
      kubeconfig: kubeconfig('down.yaml', { u: { token: 't' } }, 'https://127.0.0.1:1'),
    });
    await expect(kube.request({ path: '/api' })).rejects.toMatchObject({
      code: 'KUBE_UNREACHABLE',
      message: expect.stringMatching(/127\.0\.0\.1:1/),
    });
  });

  it('uses KUBECONFIG when there is neither --kubeconfig nor a service account', () => {
    const kube = KubeClient.load({
      env: { KUBECONFIG: kubeconfig('env.yaml', { u: { token: 't' } }) },
      homeDir: dir,
      inCluster: { dir: join(dir, 'no-sa') },
    });
    expect(kube.server).toBe(`https://127.0.0.1:${port}`);
  });

  it('says what is missing when there is no kubeconfig and no cluster', () => {
    expect(() => KubeClient.load({ env: {}, homeDir: dir, inCluster: { dir: join(dir, 'no-sa') } })).toThrow(
      expect.objectContaining({
        code: 'KUBE_NO_CONFIG',
        message:
          'no kubeconfig found ($KUBECONFIG, ~/.kube/config) and not running in a cluster; pass --kubeconfig FILE, or, from a source checkout, `./run start --demo` to try everything on this machine',
      }),
    );
  });
});

describe('KubeClient in a cluster', () => {
  let sa: string;
  const env = () => ({ KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(port) });
  beforeAll(() => {
    sa = join(dir, 'serviceaccount');
    mkdirSync(sa);
    writeFileSync(join(sa, 'token'), 'sa-token-1\n');
    writeFileSync(join(sa, 'ca.crt'), caPem);
  });

  it('reads the service account and sends the token current at each request', async () => {
    // the kubeconfig in KUBECONFIG loses to the pod's service account, as in client-go
    const kube = KubeClient.load({
      inCluster: { dir: sa, env: env() },
      env: { KUBECONFIG: kubeconfig('ignored.yaml', { u: { token: 'from-kubeconfig' } }) },
    });
    expect(kube.server).toBe(`https://127.0.0.1:${port}`);
    expect(await kube.clusterCaPem()).toBe(caPem);
    await kube.request({ path: '/api' });
    expect(header('authorization')).toEqual(['Bearer sa-token-1']);
    writeFileSync(join(sa, 'token'), 'sa-token-2\n'); // the kubelet rotated the projected token
    await kube.request({ path: '/api' });
    expect(header('authorization')).toEqual(['Bearer sa-token-2']);
    const ws = await kube.connectionOptions({ 'X-Extra': 'y' });
    expect(ws.headers).toEqual({ Authorization: 'Bearer sa-token-2', 'X-Extra': 'y' });
  });

  it('brackets an IPv6 service host and needs both service variables', () => {
    const v6 = KubeClient.load({
      inCluster: { dir: sa, env: { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' } },
    });
    expect(v6.server).toBe('https://[fd00::1]:443');
    expect(() =>
      KubeClient.load({ inCluster: { dir: sa, env: { KUBERNETES_SERVICE_HOST: '10.0.0.1' } } }),
    ).toThrow(/KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be defined/);
  });
});

describe('loading the recorder', () => {
  it('does not load @kubernetes/client-node for token, certificate or exec users', () => {
    const plugin = file(
      'exec-plugin.sh',
      `#!/bin/sh\necho '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"from-exec"}}'\n`,
    );
    spawnSync('chmod', ['+x', plugin]);
    const cfg = kubeconfig('users.yaml', {
      token: { token: 't' },
      tokenfile: { tokenFile: file('tf', 't') },
      cert: {
        'client-certificate-data': Buffer.from('C').toString('base64'),
        'client-key-data': Buffer.from('K').toString('base64'),
      },
      exec: {
        exec: { apiVersion: 'client.authentication.k8s.io/v1', command: plugin, interactiveMode: 'Never' },
      },
    });
    const url = (p: string) => JSON.stringify(new URL(p, import.meta.url).href);
    const script = `
      import { registerHooks } from 'node:module';
      const seen = [];
      registerHooks({ resolve: (s, c, next) => { const r = next(s, c); seen.push(r.url); return r; } });
      await import(${url('../../../server/app.ts')});
      const { KubeClient } = await import(${url('../../../server/kube/client.ts')});
      const auth = [];
      for (const context of ['token', 'tokenfile', 'cert', 'exec']) {
        const o = await KubeClient.load({ kubeconfig: ${JSON.stringify(cfg)}, context }).connectionOptions();
        auth.push(o.headers.Authorization ?? (o.cert ? 'cert' : ''));
      }
      console.log(JSON.stringify({ auth, clientNode: seen.filter((u) => u.includes('client-node')) }));
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({
      auth: ['Bearer t', 'Bearer t', 'cert', 'Bearer from-exec'],
      clientNode: [],
    });
  });
});
