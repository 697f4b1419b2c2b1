// The recorder's in-cluster configuration against the sandbox apiserver, with real service-account
// tokens: a rotated token (the old one revoked) is picked up by the very next request.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient } from '../../../server/kube/client.ts';
import { RECORDER_SA, type Sandbox, startSandbox } from '../../sandbox/index.ts';

describe('KubeClient in the sandbox cluster', () => {
  let sb: Sandbox;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'server-kube-in-cluster-'));
    sb = await startSandbox({ log: () => {}, runtime: 'pty' });
  }, 60_000);
  afterAll(async () => {
    await sb?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('authenticates with the current projected token after a rotation', async () => {
    const sa = join(dir, 'serviceaccount');
    mkdirSync(sa);
    const first = sb.serviceAccountToken({ ...RECORDER_SA });
    writeFileSync(join(sa, 'token'), first);
    writeFileSync(join(sa, 'ca.crt'), sb.caPem);
    const url = new URL(sb.url);
    const kube = KubeClient.load({
      inCluster: {
        dir: sa,
        env: { KUBERNETES_SERVICE_HOST: url.hostname, KUBERNETES_SERVICE_PORT: url.port },
      },
    });
    const whoami = () =>
      kube.request<{ status?: { userInfo?: { username?: string } } }>({
        method: 'POST',
        path: '/apis/authentication.k8s.io/v1/selfsubjectreviews',
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
      });
    const recorder = `system:serviceaccount:${RECORDER_SA.namespace}:${RECORDER_SA.name}`;
    expect(await whoami()).toMatchObject({
      status: 201,
      body: { status: { userInfo: { username: recorder } } },
    });

    writeFileSync(join(sa, 'token'), sb.serviceAccountToken({ ...RECORDER_SA }));
    sb.revokeToken(first);
    expect(await whoami()).toMatchObject({
      status: 201,
      body: { status: { userInfo: { username: recorder } } },
    });

    writeFileSync(join(sa, 'token'), first); // the revoked one again: refused, so the file really is read
    expect((await whoami()).status).toBe(401);
  });
});
