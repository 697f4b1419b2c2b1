// The recorder's side of admission, end to end against the sandbox apiserver: the params ConfigMap
// it publishes from its store is fed to the shipped policy (real CEL evaluator), the webhook is
// called over the recorder's own TLS listener with and without the apiserver's client certificate,
// and the impersonation denylist refuses sessions before any request is made as the caller.

import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { SessionCreateResponse, SessionRecord } from '../../../common/wire.ts';
import type { AdmissionReview } from '../../../server/admission/webhook.ts';
import { KubeClient } from '../../../server/kube/client.ts';
import { type BindingSpec, evaluateBinding, evaluatePolicy, type PolicySpec } from '../../deploy/vap.ts';
import { createPki, type KeyPair } from '../../sandbox/ca.ts';
import { type Sandbox, startSandbox } from '../../sandbox/index.ts';
import { type RecorderHandle, startRecorder } from '../../support/recorder.ts';
import { type Credentials, call, createExecSession, runStream } from '../client.ts';

interface Doc {
  kind: string;
  metadata: { name: string };
  spec: Record<string, unknown>;
}
const docs = parseAllDocuments(
  readFileSync(new URL('../../../deploy/admission/policy.yaml', import.meta.url), 'utf8'),
).map((d) => d.toJS() as Doc);
const spec = (name: string) => docs.find((d) => d.metadata.name === name)!.spec as unknown as PolicySpec;
const bindings = docs
  .filter(
    (d) =>
      d.kind === 'ValidatingAdmissionPolicyBinding' && d.spec.policyName === 'audited-exec-verify-session',
  )
  .map((d) => d.spec as unknown as BindingSpec);

/** The shipped Deny policies over one request with the given params object: the failure messages. */
function policyFailures(
  req: Record<string, unknown> & { operation: string; resource: never },
  params: unknown,
) {
  return [
    ...evaluatePolicy(spec('audited-exec-require-recorder'), req).failures,
    ...bindings.flatMap((b) => evaluateBinding(spec('audited-exec-verify-session'), b, req, params).failures),
  ];
}

function execRequest(
  user: string,
  marker: string,
  s: Pick<SessionRecord, 'namespace' | 'pod' | 'container'>,
) {
  return {
    uid: `req-${user}`,
    kind: { group: '', version: 'v1', kind: 'PodExecOptions' },
    resource: { group: '', version: 'v1', resource: 'pods' } as never,
    subResource: 'exec',
    name: s.pod!,
    namespace: s.namespace!,
    operation: 'CONNECT',
    userInfo: {
      username: user,
      groups: ['dev', 'system:authenticated'],
      extra: { 'audited-exec.io/session': [marker] },
    },
    object: {
      kind: 'PodExecOptions',
      apiVersion: 'v1',
      stdin: false,
      tty: false,
      container: s.container!,
      command: ['true'],
    },
  };
}

/** Polls a condition the recorder brings about in the background (the publish after a session ends). */
async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function post(rec: RecorderHandle, body: string, cert?: KeyPair): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL('/admission/validate', rec.url),
      {
        method: 'POST',
        ca: rec.caPem,
        ...(cert ? { cert: cert.cert, key: cert.key } : {}),
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('admission: the recorder publishes, checks and refuses session markers', () => {
  let sb: Sandbox;
  let rec: RecorderHandle;
  let admin: KubeClient;
  let alice: Credentials;
  let pkiDir: string;
  let apiserver: KeyPair;
  let stranger: KeyPair;

  beforeAll(async () => {
    sb = await startSandbox({ runtime: 'pty', log: () => {} });
    pkiDir = await mkdtemp(join(tmpdir(), 'audited-exec-admission-ca-'));
    const pki = await createPki(pkiDir);
    apiserver = await pki.issueClient('kube-apiserver', []);
    stranger = await pki.issueClient('not-the-apiserver', []);
    await writeFile(join(pkiDir, 'admission-ca.crt'), pki.caPem);
    rec = await startRecorder({
      sandbox: sb,
      settings: {
        admissionClientCaFile: join(pkiDir, 'admission-ca.crt'),
        admissionClientNames: ['kube-apiserver'],
        impersonationDeniedGroups: ['viewers'],
      },
    });
    admin = KubeClient.load({ kubeconfig: sb.kubeconfigFor('admin') });
    alice = { token: sb.tokens.alice! };
  });
  afterAll(async () => {
    await rec?.stop();
    await sb?.stop();
    if (pkiDir) await rm(pkiDir, { recursive: true, force: true });
  });

  const params = async () =>
    (
      await admin.request<{ data?: Record<string, string> }>({
        path: '/api/v1/namespaces/audited-exec/configmaps/audited-exec-sessions',
      })
    ).body!;
  const create = (creds: Credentials, body: Record<string, unknown> = {}) =>
    createExecSession<SessionCreateResponse & { message?: string; reason?: string }>(rec, creds, body);

  it('policy: a genuine open session passes; another user, a forged id and the ended session do not', async () => {
    const created = await create(alice);
    expect(created.status).toBe(201);
    const id = created.body.id;
    // Published before the create answered: the grant is there when the stream opens the exec.
    const open = await params();
    expect(open.data).toMatchObject({ [`${id}.user`]: 'alice', [`${id}.exec`]: 'default/web/app' });
    const target = { namespace: 'default', pod: 'web', container: 'app' };
    expect(policyFailures(execRequest('alice', id, target) as never, open)).toEqual([]);
    expect(policyFailures(execRequest('bob', id, target) as never, open)).toHaveLength(1);
    expect(policyFailures(execRequest('alice', 'not-a-session', target) as never, open)).toHaveLength(1);

    const result = await runStream(rec, alice, created.body.streamPath);
    expect(result.exitCode).toBe(0);
    const ended = await until('the ended session to leave the params', async () => {
      const p = await params();
      return p.data?.[`${id}.user`] === undefined ? p : undefined;
    });
    expect(policyFailures(execRequest('alice', id, target) as never, ended)).toEqual([
      expect.stringContaining('does not name a session the recorder opened for alice'),
    ]);
  });

  it('policy: a deleted params ConfigMap is written again by the next session', async () => {
    await admin.request({
      method: 'DELETE',
      path: '/api/v1/namespaces/audited-exec/configmaps/audited-exec-sessions',
    });
    const created = await create(alice);
    expect(created.status).toBe(201);
    expect((await params()).data?.[`${created.body.id}.user`]).toBe('alice');
    await runStream(rec, alice, created.body.streamPath);
  });

  it('webhook: only the apiserver certificate is heard; it allows the open session and refuses a forgery', async () => {
    const created = await create(alice);
    const id = created.body.id;
    const review = (user: string, marker: string) =>
      JSON.stringify({
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        request: execRequest(user, marker, { namespace: 'default', pod: 'web', container: 'app' }),
      });
    expect((await post(rec, review('alice', id))).status).toBe(403);
    expect((await post(rec, review('alice', id), stranger)).status).toBe(403);
    expect(
      (await post(rec, review('alice', id), { cert: sb.clientCert.cert, key: sb.clientCert.key })).status,
    ).toBe(403);

    const genuine = await post(rec, review('alice', id), apiserver);
    expect(genuine.status).toBe(200);
    expect((JSON.parse(genuine.body) as AdmissionReview).response).toMatchObject({ allowed: true });
    const forged = JSON.parse((await post(rec, review('mallory', id), apiserver)).body) as AdmissionReview;
    expect(forged.response).toMatchObject({ allowed: false, status: { code: 403 } });
    expect(forged.response?.auditAnnotations?.['forged-session']).toContain(
      'the session belongs to another user',
    );

    expect((await post(rec, 'x'.repeat(200 * 1024), apiserver)).status).toBe(413);
    await runStream(rec, alice, created.body.streamPath);
    const after = JSON.parse((await post(rec, review('alice', id), apiserver)).body) as AdmissionReview;
    expect(after.response?.allowed).toBe(false);
  });

  it('a certificate from the admission CA is not a user of the API', async () => {
    const asApiserver = await call(rec, apiserver, 'GET', '/api/v1/sessions');
    expect(asApiserver.status).toBe(401);
    const carol = await call(
      rec,
      { cert: sb.clientCert.cert, key: sb.clientCert.key },
      'GET',
      '/api/v1/sessions',
    );
    expect(carol.status).toBe(200);
  });

  it('denylist: system:masters and configured groups get no session, with a stable code', async () => {
    const admins = await create({ token: sb.tokens.admin! });
    expect(admins.status).toBe(403);
    expect(admins.body.reason).toBe('SESSION_IMPERSONATION_DENIED');
    expect(admins.body.message).toContain('system:masters');
    const bob = await create({ token: sb.tokens.bob! });
    expect(bob.status).toBe(403);
    expect(bob.body.reason).toBe('SESSION_IMPERSONATION_DENIED');
    const audit = await sb.readAudit();
    expect(audit.some((e) => e.impersonatedUser?.username === 'admin')).toBe(false);
  });
});
