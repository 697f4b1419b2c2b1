// The sandbox through its other clients: @kubernetes/client-node's Exec, raw WebSocket exec with
// impersonation headers and Audit-ID (what the recorder does), TokenReview, SubjectAccessReview.
import { PassThrough } from 'node:stream';
import { Exec, KubeConfig, type V1Status } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipE2E } from '../support/prereq.ts';
import { type Sandbox, startSandbox } from './index.ts';
import { apiRequest, rawExec } from './test-helpers.ts';

const SESSION = '0b9c8e0e-6f55-4a63-9d0f-3f3c1b7e2a10';

describe.skipIf(skipE2E('sandbox api', 'root', 'runc'))('sandbox apiserver API', () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await startSandbox({ runtime: 'runc' });
  });
  afterAll(async () => {
    await sb?.stop();
  });

  it("runs client-node's Exec with exit code and stdout", async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(sb.kubeconfigPath);
    const stdout = new PassThrough();
    let out = '';
    stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const status = await new Promise<V1Status>((resolve, reject) => {
      new Exec(kc)
        .exec(
          'default',
          'web',
          'app',
          ['sh', '-c', 'echo from-client-node; exit 4'],
          stdout,
          null,
          null,
          false,
          resolve,
        )
        .catch(reject);
    });
    expect(status.status).toBe('Failure');
    expect(status.details?.causes?.find((c) => c.reason === 'ExitCode')?.message).toBe('4');
    expect(out).toBe('from-client-node\n');
  });

  it('execs as an impersonated user and audits both identities under the given Audit-ID', async () => {
    const r = await rawExec(
      sb,
      '/api/v1/namespaces/default/pods/web/exec?command=cat&stdin=true&stdout=true&stderr=true',
      {
        token: sb.tokens.recorder!,
        headers: {
          'Impersonate-User': 'alice',
          'Impersonate-Group': ['dev', 'system:authenticated'],
          'Impersonate-Extra-audited-exec.io%2fsession': SESSION,
          'Audit-ID': SESSION,
        },
        stdin: 'piped through\n',
      },
    );
    expect(r.stdout).toBe('piped through\n'); // stdin close frame (v5) ended cat
    expect(r.status).toEqual({ metadata: {}, status: 'Success' });
    const events = (await sb.readAudit()).filter((e) => e.auditID === SESSION);
    expect(events.map((e) => e.stage)).toEqual(['ResponseStarted', 'ResponseComplete']);
    expect(events[1]).toMatchObject({
      verb: 'get',
      user: { username: 'system:serviceaccount:audited-exec:recorder' },
      impersonatedUser: {
        username: 'alice',
        groups: ['dev', 'system:authenticated'],
        extra: { 'audited-exec.io/session': [SESSION] },
      },
      objectRef: {
        resource: 'pods',
        namespace: 'default',
        name: 'web',
        subresource: 'exec',
        apiVersion: 'v1',
      },
      responseStatus: { code: 101 },
    });
  });

  it("authorises the impersonated user's RBAC, not the impersonator's", async () => {
    const r = await rawExec(sb, '/api/v1/namespaces/default/pods/web/exec?command=true&stdout=true', {
      token: sb.tokens.recorder!,
      headers: { 'Impersonate-User': 'bob', 'Impersonate-Group': 'viewers' },
    });
    expect(r.upgradeStatus).toBe(403);
    expect(r.upgradeBody.message).toBe(
      'pods "web" is forbidden: User "bob" cannot get resource "pods/exec" in API group "" in the namespace "default"',
    );
  });

  it('refuses impersonation of an extra the requester may not impersonate', async () => {
    const r = await apiRequest(sb, {
      path: '/api/v1/namespaces/default/pods',
      creds: { token: sb.tokens.alice! },
      headers: [
        ['Impersonate-User', 'alice'],
        ['Impersonate-Extra-audited-exec.io%2fsession', SESSION],
      ],
    });
    expect(r.status).toBe(403);
    expect(r.body.message).toBe(
      `users "alice" is forbidden: User "alice" cannot impersonate resource "users" in API group "" at the cluster scope`,
    );
  });

  it('echoes a client-supplied Audit-ID and records it', async () => {
    const id = 'b3f1c2d4-0000-4000-8000-000000000001';
    const r = await apiRequest(sb, {
      path: '/api/v1/namespaces/default/pods/web',
      creds: { token: sb.tokens.alice! },
      headers: [['Audit-ID', id]],
    });
    expect(r.status).toBe(200);
    expect(r.headers['audit-id']).toBe(id);
    const ev = (await sb.readAudit()).find((e) => e.auditID === id);
    expect(ev).toMatchObject({
      verb: 'get',
      user: { username: 'alice' },
      stage: 'ResponseComplete',
      sourceIPs: ['127.0.0.1'],
    });
    expect(ev?.requestReceivedTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  });

  it('reports a missing binary on channel 3 as InternalError', async () => {
    const r = await rawExec(
      sb,
      '/api/v1/namespaces/default/pods/noenv/exec?command=env&command=true&stdout=true',
      {
        token: sb.tokens.alice!,
      },
    );
    expect(r.status).toMatchObject({ status: 'Failure', reason: 'InternalError' });
    expect(r.status.message).toContain('exec: "env": executable file not found in $PATH');
  });

  it('reviews tokens, with node-name extra and audiences', async () => {
    const review = async (token: string, audiences?: string[]) =>
      (
        await apiRequest(sb, {
          method: 'POST',
          path: '/apis/authentication.k8s.io/v1/tokenreviews',
          creds: { token: sb.tokens.recorder! },
          body: {
            apiVersion: 'authentication.k8s.io/v1',
            kind: 'TokenReview',
            spec: { token, ...(audiences ? { audiences } : {}) },
          },
        })
      ).body.status;
    expect(await review(sb.tokens.alice!)).toMatchObject({
      authenticated: true,
      user: { username: 'alice', groups: ['dev', 'system:authenticated'] },
    });
    expect((await review(sb.tokens.shim!)).user.extra['authentication.kubernetes.io/node-name']).toEqual([
      sb.nodeName,
    ]);
    const scoped = sb.serviceAccountToken({
      namespace: 'audited-exec',
      name: 'shim',
      nodeName: sb.nodeName,
      audience: 'audited-exec',
    });
    expect(await review(scoped, ['audited-exec'])).toMatchObject({
      authenticated: true,
      audiences: ['audited-exec'],
    });
    expect((await review(scoped, ['other'])).authenticated).toBeUndefined();
    expect((await review('garbage')).authenticated).toBeUndefined();
  });

  it('answers SubjectAccessReviews from the policy, including virtual resources', async () => {
    const sar = async (user: string, groups: string[], resourceAttributes: object) =>
      (
        await apiRequest(sb, {
          method: 'POST',
          path: '/apis/authorization.k8s.io/v1/subjectaccessreviews',
          creds: { token: sb.tokens.recorder! },
          body: {
            kind: 'SubjectAccessReview',
            apiVersion: 'authorization.k8s.io/v1',
            spec: { user, groups, resourceAttributes },
          },
        })
      ).body.status.allowed;
    expect(
      await sar('auditor', ['auditors'], { verb: 'list', group: 'audited-exec.io', resource: 'sessions' }),
    ).toBe(true);
    expect(
      await sar('bob', ['viewers'], { verb: 'list', group: 'audited-exec.io', resource: 'sessions' }),
    ).toBe(false);
    expect(
      await sar('alice', ['dev'], {
        verb: 'create',
        resource: 'pods',
        subresource: 'exec',
        namespace: 'default',
      }),
    ).toBe(true);
  });

  it('applies a replaced RBAC policy at once', async () => {
    const { defaultPolicy } = await import('./rbac.ts');
    sb.setRbac({ rules: [] });
    try {
      const r = await apiRequest(sb, {
        path: '/api/v1/namespaces/default/pods',
        creds: { token: sb.tokens.alice! },
      });
      expect(r.status).toBe(403);
    } finally {
      sb.setRbac(defaultPolicy());
    }
  });
});
