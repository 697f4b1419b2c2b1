// Real kubectl 1.32 against the sandbox: discovery, get, exec over WebSocket (exit codes, both
// streams, interactive tty with resize), RBAC denials, client certificates, impersonation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipE2E } from '../support/prereq.ts';
import { type Sandbox, startSandbox } from './index.ts';
import { apiRequest, kubectl, kubectlTerminal } from './test-helpers.ts';

describe.skipIf(skipE2E('sandbox kubectl', 'root', 'runc', 'kubectl'))(
  'sandbox apiserver with real kubectl',
  () => {
    let sb: Sandbox;
    beforeAll(async () => {
      sb = await startSandbox({ runtime: 'runc' });
    });
    afterAll(async () => {
      await sb?.stop();
    });

    it('issues service-account tokens for an audience, bound to a pod and its node (kubectl create token)', async () => {
      const review = async (token: string, audiences: string[]) =>
        (
          await apiRequest(sb, {
            method: 'POST',
            path: '/apis/authentication.k8s.io/v1/tokenreviews',
            creds: { token: sb.tokens.admin! },
            body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences } },
          })
        ).body as {
          status: { authenticated?: boolean; user?: { username: string; extra?: Record<string, string[]> } };
        };
      const plain = await kubectl(sb.kubeconfigFor('admin'), [
        'create',
        'token',
        'shim',
        '-n',
        'audited-exec',
        '--audience',
        'audited-exec',
      ]);
      expect(plain.stderr).toBe('');
      const token = plain.stdout.trim();
      expect((await review(token, ['audited-exec'])).status).toMatchObject({
        authenticated: true,
        user: { username: 'system:serviceaccount:audited-exec:shim' },
      });
      // Not for the apiserver itself: the audience was asked for.
      expect((await review(token, [])).status.authenticated).toBeFalsy();
      const bound = await kubectl(sb.kubeconfigFor('admin'), [
        'create',
        'token',
        'shim',
        '-n',
        'default',
        '--audience',
        'audited-exec',
        '--bound-object-kind',
        'Pod',
        '--bound-object-name',
        'web',
        '--duration',
        '1h',
      ]);
      expect(bound.stderr).toBe('');
      const user = (await review(bound.stdout.trim(), ['audited-exec'])).status.user!;
      expect(user.extra?.['authentication.kubernetes.io/node-name']).toEqual([sb.nodeName]);
      const missing = await kubectl(sb.kubeconfigFor('admin'), [
        'create',
        'token',
        'shim',
        '--bound-object-kind',
        'Pod',
        '--bound-object-name',
        'nope',
      ]);
      expect(missing.code).not.toBe(0);
      expect(missing.stderr).toContain('pods "nope" not found');
    });

    it('lists the pre-created pods', async () => {
      const r = await kubectl(sb.kubeconfigPath, ['get', 'pods']);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/^web\s+1\/1\s+Running/m);
      expect(r.stdout).toMatch(/^noenv\s+1\/1\s+Running/m);
    });

    it('passes the exit code of the command through', async () => {
      const r = await kubectl(sb.kubeconfigPath, ['exec', 'web', '--', 'sh', '-c', 'exit 3']);
      expect(r.code).toBe(3);
    });

    it('keeps stdout and stderr apart', async () => {
      const r = await kubectl(sb.kubeconfigPath, ['exec', 'web', '--', 'sh', '-c', 'echo out; echo err >&2']);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe('out\n');
      expect(r.stderr).toBe('err\n');
    });

    it('runs the command in the container: own pid namespace, 64-hex cgroup id', async () => {
      const r = await kubectl(sb.kubeconfigPath, [
        'exec',
        'web',
        '--',
        'cat',
        '/proc/self/cgroup',
        '/proc/1/cmdline',
      ]);
      expect(r.stdout).toContain(`/audited-exec-sandbox/${sb.podContainerId('default', 'web')}`);
      expect(r.stdout).toContain('sleep\0infinity');
    });

    it('reports a missing binary like the kubelet', async () => {
      const r = await kubectl(sb.kubeconfigPath, ['exec', 'noenv', '--', 'env']);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('exec: "env": executable file not found in $PATH');
    });

    it('gives an interactive shell that echoes input and follows resizes', async () => {
      const t = kubectlTerminal(sb.kubeconfigPath, ['exec', '-it', 'web', '--', 'bash']);
      try {
        await t.waitFor(/[#$] $/);
        let mark = t.output.length;
        t.write('echo typed-$((40+2))\r');
        await t.waitFor(/typed-42/, mark);
        expect(t.output.slice(mark)).toContain('echo typed-$((40+2))'); // the terminal echoed the input
        t.write('tty\r');
        await t.waitFor(/\/dev\/pts\/0/, mark);
        mark = t.output.length;
        t.resize(101, 33);
        // kubectl forwards SIGWINCH as a resize frame, and runc applies it from its own SIGWINCH
        // handler: ask stty again after each answer until the container sees it (bounded by time,
        // not by a count of round trips, which a busy machine makes faster than runc's handler).
        const deadline = Date.now() + 30_000;
        while (!/33 101/.test(t.output.slice(mark)) && Date.now() < deadline) {
          t.write('stty size\r');
          await t.waitFor(/\d+ \d+\r*\n/, t.output.length);
        }
        expect(t.output.slice(mark)).toMatch(/33 101/);
        t.write('exit 7\r');
        expect(await t.exited).toBe(7);
      } finally {
        t.kill();
      }
    });

    it("denies bob's exec with the apiserver's wording", async () => {
      const r = await kubectl(sb.kubeconfigFor('bob'), ['exec', 'web', '--', 'true']);
      expect(r.code).toBe(1);
      // kubectl tries WebSocket (GET → verb get), then falls back to SPDY (POST → verb create).
      expect(r.stderr).toContain(
        'Error from server (Forbidden): pods "web" is forbidden: User "bob" cannot create resource "pods/exec" in API group "" in the namespace "default"',
      );
      const audit = await sb.readAudit();
      expect(
        audit.some(
          (e) =>
            e.user.username === 'bob' &&
            e.verb === 'get' &&
            e.objectRef?.subresource === 'exec' &&
            e.responseStatus?.code === 403,
        ),
      ).toBe(true);
    });

    it('lets bob list pods in default but not in audited-exec', async () => {
      expect((await kubectl(sb.kubeconfigFor('bob'), ['get', 'pods'])).code).toBe(0);
      const r = await kubectl(sb.kubeconfigFor('bob'), ['get', 'pods', '-n', 'audited-exec']);
      expect(r.stderr).toContain(
        'pods is forbidden: User "bob" cannot list resource "pods" in API group "" in the namespace "audited-exec"',
      );
    });

    it('authenticates carol by client certificate', async () => {
      const r = await kubectl(sb.kubeconfigFor('carol'), ['exec', 'web', '--', 'id', '-u']);
      expect(r).toMatchObject({ code: 0, stdout: '0\n' });
      const who = await kubectl(sb.kubeconfigFor('carol'), ['auth', 'whoami', '-o', 'json']);
      expect(JSON.parse(who.stdout).status.userInfo).toMatchObject({
        username: 'carol',
        groups: ['dev', 'system:authenticated'],
      });
    });

    it('lets the recorder impersonate alice, and refuses bob', async () => {
      const ok = await kubectl(sb.kubeconfigFor('recorder'), [
        '--as',
        'alice',
        '--as-group',
        'dev',
        'exec',
        'web',
        '--',
        'echo',
        'hi',
      ]);
      expect(ok).toMatchObject({ code: 0, stdout: 'hi\n' });
      const denied = await kubectl(sb.kubeconfigFor('bob'), ['--as', 'alice', 'get', 'pods']);
      expect(denied.stderr).toContain(
        'users "alice" is forbidden: User "bob" cannot impersonate resource "users" in API group "" at the cluster scope',
      );
    });

    it('answers 401 without credentials and 404 like the apiserver', async () => {
      const anon = await apiRequest(sb, { path: '/api/v1/namespaces/default/pods' });
      expect(anon.status).toBe(401);
      expect(anon.body).toMatchObject({ kind: 'Status', reason: 'Unauthorized', code: 401 });
      const r = await kubectl(sb.kubeconfigPath, ['get', 'pod', 'nope']);
      expect(r.stderr).toContain('Error from server (NotFound): pods "nope" not found');
    });

    it('creates, watches and deletes a pod through kubectl', async () => {
      const manifest = JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'kubectl-made' },
        spec: { containers: [{ name: 'main', image: 'sandbox/bash', command: ['sleep', '300'] }] },
      });
      const { writeFile } = await import('node:fs/promises');
      const file = `${sb.dir}/kubectl-made.json`;
      await writeFile(file, manifest);
      expect((await kubectl(sb.kubeconfigPath, ['create', '-f', file])).stdout).toContain(
        'pod/kubectl-made created',
      );
      const wait = await kubectl(sb.kubeconfigPath, [
        'wait',
        '--for=condition=Ready',
        'pod/kubectl-made',
        '--timeout=20s',
      ]);
      expect(wait.stdout).toContain('condition met');
      const del = await kubectl(sb.kubeconfigPath, ['delete', 'pod', 'kubectl-made']);
      expect(del.stdout).toContain('deleted');
      expect((await kubectl(sb.kubeconfigPath, ['get', 'pod', 'kubectl-made'])).code).toBe(1);
    });
  },
);
