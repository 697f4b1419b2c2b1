// node-debug sessions end to end: the real recorder against the sandbox apiserver with real runc pods
// (host PID namespace, the host root at /host). Debug pods go to namespace audited-exec, where the
// sandbox RBAC lets alice (not bob) create pods.
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAsciicast, outputText } from '../../common/asciicast.ts';
import type { SessionCreateResponse, SessionRecord } from '../../common/wire.ts';
import { KubeClient } from '../../server/kube/client.ts';
import { recordingPath } from '../../server/recording/writer.ts';
import { defaultPolicy, type Sandbox, startSandbox } from '../sandbox/index.ts';
import { skipE2E } from '../support/prereq.ts';
import { type RecorderHandle, startRecorder } from '../support/recorder.ts';
import { type Credentials, call, runStream, stdinFrame } from './client.ts';

const NS = 'audited-exec';
const RECORDER = 'system:serviceaccount:audited-exec:recorder';

describe.skipIf(skipE2E('server node-debug sessions', 'root', 'runc'))('recorded node debug', () => {
  let sb: Sandbox;
  let rec: RecorderHandle;
  let admin: KubeClient;
  let alice: Credentials;

  beforeAll(async () => {
    sb = await startSandbox({ runtime: 'runc', log: () => {} });
    rec = await startRecorder({
      sandbox: sb,
      settings: { debugNamespace: NS, debugImage: 'busybox:1.36' },
      policy: {
        nodeDebug: {
          profiles: [
            { groups: ['dev'], allow: ['general', 'sysadmin'] },
            { groups: ['viewers'], allow: ['general'] },
          ],
        },
      },
    });
    admin = KubeClient.load({ kubeconfig: sb.kubeconfigFor('admin') });
    alice = { token: sb.tokens.alice! };
  });
  afterAll(async () => {
    await rec?.stop();
    await sb?.stop();
  });

  const create = (creds: Credentials, body: Record<string, unknown> = {}) =>
    call<SessionCreateResponse & { message?: string; reason?: string }>(
      rec,
      creds,
      'POST',
      '/api/v1/sessions',
      {
        kind: 'node-debug',
        node: sb.nodeName,
        namespace: 'default',
        tty: true,
        stdin: true,
        ...body,
      },
    );
  const debugPods = async (session?: string) => {
    const selector = `audited-exec.io/session${session ? `=${session}` : ''}`;
    const res = await admin.request<{ items: { metadata: { name: string } }[] }>({
      path: `/api/v1/namespaces/${NS}/pods?labelSelector=${encodeURIComponent(selector)}`,
    });
    return res.body!.items.map((p) => p.metadata.name);
  };

  it('runs a recorded shell on the host, attributed by its environment, and removes the pod', async () => {
    const created = await create(alice, { reason: 'disk pressure on the node' });
    expect(created.status, created.text).toBe(201);
    const { id, streamPath } = created.body;
    const [podName] = await debugPods(id);
    expect(podName).toMatch(new RegExp(`^node-debugger-${sb.nodeName}-[b-z2-9]{5}$`));

    // Typed before the attach: held by the recorder, replayed into the shell once attached.
    const script = 'echo "session=$AUDITED_EXEC_SESSION"; chroot /host ls /etc | grep -cx passwd; exit 3\r';
    const result = await runStream(rec, alice, streamPath, { send: [stdinFrame(script)] });
    expect(result.exitCode).toBe(3);
    expect(result.stdout).toContain(`session=${id}`);
    expect(result.stdout).toMatch(/^1\r?$/m); // the host's /etc/passwd, seen through chroot /host
    expect(result.stderr).toContain(`debug pod ${NS}/${podName}`);
    expect(result.stderr).toContain("If you don't see a command prompt");

    const s = (await call<SessionRecord>(rec, alice, 'GET', `/api/v1/sessions/${id}`)).body;
    expect(s).toMatchObject({
      kind: 'node-debug',
      state: 'ended',
      exitCode: 3,
      user: 'alice',
      node: sb.nodeName,
      namespace: NS,
      pod: podName,
      container: 'debugger',
      image: 'busybox:1.36',
      profile: 'general',
      auditId: id,
      reason: 'disk pressure on the node',
    });
    expect(s.containerId).toMatch(/^[0-9a-f]{64}$/);

    const cast = decodeAsciicast(await readFile(recordingPath(rec.dataDir, id), 'utf8'));
    const text = outputText(cast);
    expect(text).toContain(`session=${id}`);
    expect(text).not.toContain('debug pod'); // progress lines are for the user, not the record
    expect(text).not.toContain("If you don't see a command prompt");

    // Deleted before the stream closed.
    expect(await debugPods(id)).toEqual([]);
    const audit = (await sb.readAudit()).filter((e) => e.auditID === id && e.stage === 'ResponseComplete');
    const podCreate = audit.find(
      (e) => e.verb === 'create' && e.objectRef?.resource === 'pods' && !e.objectRef.subresource,
    );
    expect(podCreate?.user.username).toBe(RECORDER);
    expect(podCreate?.impersonatedUser?.username).toBe('alice');
    expect(podCreate?.objectRef?.namespace).toBe(NS);
    expect(podCreate?.responseStatus?.code).toBe(201);
    const attach = audit.find((e) => e.objectRef?.subresource === 'attach');
    expect(attach?.impersonatedUser?.username).toBe('alice');
    const del = audit.find((e) => e.verb === 'delete');
    expect(del?.user.username).toBe(RECORDER);
    expect(del?.impersonatedUser).toBeUndefined();
  });

  it('refuses a user whose RBAC forbids creating pods in the debug namespace, creating nothing', async () => {
    const before = await debugPods();
    const r = await create({ token: sb.tokens.bob! });
    expect(r.status).toBe(403);
    expect(r.body.message).toBe(
      `cannot create the debug pod in namespace ${NS}: pods is forbidden: User "bob" cannot create resource "pods" in API group "" in the namespace "${NS}"`,
    );
    expect(await debugPods()).toEqual(before);
    const list = await call<{ items: SessionRecord[] }>(
      rec,
      { token: sb.tokens.admin! },
      'GET',
      '/api/v1/sessions?user=bob',
    );
    expect(list.body.items[0]).toMatchObject({ kind: 'node-debug', state: 'refused' });
  });

  it('applies the policy: profiles per group, before any pod exists', async () => {
    const before = await debugPods();
    const r = await create(alice, { profile: 'netadmin' });
    expect(r.status).toBe(403);
    expect(r.body.message).toBe(
      'policy: your groups may not use debug profile "netadmin" (allowed: general, sysadmin)',
    );
    expect(await debugPods()).toEqual(before);
  });

  it('ends with a clear Failure when the pod does not start in time, and deletes it', async () => {
    const slow = await startRecorder({
      sandbox: sb,
      settings: { debugNamespace: NS, debugPodTimeoutMs: 2000 },
    });
    // The recorder cannot read pods any more (it can still delete them): the pod never looks started.
    const policy = defaultPolicy();
    for (const rule of policy.rules)
      if (rule.users?.includes(RECORDER) && rule.resources?.includes('pods'))
        rule.verbs = rule.verbs.filter((v) => v !== 'get');
    sb.setRbac(policy);
    try {
      const created = await call<SessionCreateResponse>(slow, alice, 'POST', '/api/v1/sessions', {
        kind: 'node-debug',
        node: sb.nodeName,
        tty: false,
        stdin: true,
      });
      expect(created.status).toBe(201);
      const { id, streamPath } = created.body;
      const result = await runStream(slow, alice, streamPath);
      expect(result.exitCode).toBeNull();
      const status = JSON.parse(result.statuses.at(-1)!);
      expect(status).toMatchObject({ status: 'Failure', code: 504 });
      expect(status.message).toMatch(
        /^the debug pod did not start within 2s: the recorder cannot read the pod \(HTTP 403\)/,
      );
      expect(result.stderr).toMatch(/waiting for pod audited-exec\/node-debugger-\S+ to start \(\d+s\)/);
      expect(await debugPods(id)).toEqual([]);
      const s = (await call<SessionRecord>(slow, alice, 'GET', `/api/v1/sessions/${id}`)).body;
      expect(s).toMatchObject({ state: 'refused', error: status.message });
    } finally {
      sb.setRbac(defaultPolicy());
      await slow.stop();
    }
  });

  it('deletes the pod when the user disconnects mid-session', async () => {
    const created = await create(alice);
    const { id, streamPath } = created.body;
    const result = await runStream(rec, alice, streamPath, {
      send: [stdinFrame('echo ready-$((40+2))\r')],
      onStdout: (_text, ws) => {
        if (/ready-42/.test(_text)) ws.terminate();
      },
    });
    expect(result.exitCode).toBeUndefined();
    // Waits for every live session to be stored and cleaned up (a no-op stop if it already ended).
    await rec.recorder.services.live.stopAll('the test waits for the session to end');
    const s = (await call<SessionRecord>(rec, alice, 'GET', `/api/v1/sessions/${id}`)).body;
    expect(s.state).toBe('interrupted');
    expect(await debugPods(id)).toEqual([]);
  });

  it('removes debug pods a crashed run left behind when it starts', async () => {
    const orphan = 'node-debugger-orphan-bcdfg';
    await sb.createPod(NS, {
      metadata: {
        name: orphan,
        labels: {
          'app.kubernetes.io/managed-by': 'audited-exec',
          'audited-exec.io/session': '11111111-2222-4333-8444-555555555555',
        },
        annotations: { 'audited-exec.io/user': 'alice' },
      },
      spec: { containers: [{ name: 'debugger', image: 'busybox', command: ['sleep', 'infinity'] }] },
    });
    await sb.createPod(NS, {
      metadata: { name: 'not-ours' },
      spec: { containers: [{ name: 'c', command: ['sleep', 'infinity'] }] },
    });
    const lines: string[] = [];
    const second = await startRecorder({
      sandbox: sb,
      settings: { debugNamespace: NS },
      log: (l) => lines.push(l),
    });
    try {
      expect(await debugPods()).not.toContain(orphan);
      expect(lines.join('\n')).toContain(`deleted 1 debug pod(s) left by a previous run: ${orphan}`);
      const notOurs = await admin.request({ path: `/api/v1/namespaces/${NS}/pods/not-ours` });
      expect(notOurs.status).toBe(200);
    } finally {
      await second.stop();
      await sb.deletePod(NS, 'not-ours');
    }
  });
});
