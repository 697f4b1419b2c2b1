import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient } from '../../../server/kube/client.ts';
import { loadTlsIdentity } from '../../../server/tls.ts';

describe('KubeClient', () => {
  let server: Server;
  let dir: string;
  let kube: KubeClient;
  let seen: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'server-kube-test-'));
    const tls = await loadTlsIdentity({ dataDir: dir });
    server = createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
      seen = req.rawHeaders;
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"ok":true}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [
        {
          name: 'c',
          server: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
          caData: Buffer.from(tls.cert).toString('base64'),
        },
      ],
      users: [{ name: 'u', token: 'recorder-token' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    kube = new KubeClient(kc);
  });
  afterAll(async () => {
    server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('sends each impersonated group as its own header line, plus uid, session extra and Audit-ID', async () => {
    const res = await kube.request({
      path: '/api/v1/namespaces/default/pods/web',
      impersonate: { user: 'alice', groups: ['dev', 'ops,oncall'], uid: 'u-1', session: 'sess-1' },
      auditId: 'sess-1',
    });
    expect(res).toMatchObject({ status: 200, body: { ok: true } });
    const pairs: [string, string][] = [];
    for (let i = 0; i < seen.length; i += 2) pairs.push([seen[i]!.toLowerCase(), seen[i + 1]!]);
    const all = (name: string) => pairs.filter(([k]) => k === name).map(([, v]) => v);
    expect(all('impersonate-group')).toEqual(['dev', 'ops,oncall']);
    expect(all('impersonate-user')).toEqual(['alice']);
    expect(all('impersonate-uid')).toEqual(['u-1']);
    expect(all('impersonate-extra-audited-exec.io%2fsession')).toEqual(['sess-1']);
    expect(all('audit-id')).toEqual(['sess-1']);
    expect(all('authorization')).toEqual(['Bearer recorder-token']);
  });

  it('names the cluster in a connection error', async () => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: 'https://127.0.0.1:1', skipTLSVerify: true }],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    await expect(new KubeClient(kc).request({ path: '/api' })).rejects.toMatchObject({
      code: 'KUBE_UNREACHABLE',
      message: expect.stringMatching(/127\.0\.0\.1:1/),
    });
  });
});
