// `kubectl audited-exec node/NODE` end to end with real auditd: the sandbox cluster's debug pod is a
// runc container in the host PID namespace with the host root at /host; the real shim daemon tails
// /var/log/audit/audit.log and ships to the real recorder. A session that runs `chroot /host ls /etc`
// is recorded, its host commands are attributed to it through the debug pod's environment marker,
// the pod is gone afterwards, and the apiserver audit log shows the pod create as the impersonated
// user with auditID = session id. A non-interactive session (`-- sh -c …`, gone in milliseconds) is
// attributed through the marker in its entry's argv, with and without the host pid namespace.
import { readFile } from 'node:fs/promises';
import { release } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { decodeAsciicast, outputText } from '../../common/asciicast.ts';
import { Channel, decodeFrame, encodeFrame, SUBPROTOCOL_V5 } from '../../common/channel.ts';
import type { SessionCreateResponse, SessionRecord } from '../../common/wire.ts';
import { KubeClient } from '../../server/kube/client.ts';
import { recordingPath } from '../../server/recording/writer.ts';
import type { Sandbox } from '../sandbox/index.ts';
import { type Credentials, call, runStream } from '../server/client.ts';
import { createPluginBin, type PluginBin, pluginUserEnv } from '../support/plugin-bin.ts';
import { KUBECTL, skipE2E } from '../support/prereq.ts';
import type { RecorderHandle } from '../support/recorder.ts';
import { runCommand } from '../support/terminal-screen.ts';
import { argv0, pollUntil, sessionEvents, writeFiles } from './shim-harness.ts';
import { type ShimRig, startShimRig } from './shim-rig.ts';

const NS = 'audited-exec';

describe.skipIf(skipE2E('node debug e2e', 'root', 'runc', 'auditd', 'kubectl'))(
  'node debug end to end (auditd, runc)',
  () => {
    let rig: ShimRig | undefined;
    let sb: Sandbox;
    let rec: RecorderHandle;
    let alice: Credentials;
    let bin: PluginBin | undefined;

    beforeAll(async () => {
      rig = await startShimRig('node-debug-e2e', { settings: { debugNamespace: NS } });
      ({ sb, alice } = rig);
      rec = rig.rec();
      bin = createPluginBin();
    }, 120_000);

    afterAll(async () => {
      bin?.remove();
      await rig?.stop();
    }, 60_000);

    it('records a node session, attributes its host commands, and leaves no pod', async () => {
      const created = await call<SessionCreateResponse>(rec, alice, 'POST', '/api/v1/sessions', {
        kind: 'node-debug',
        node: sb.nodeName,
        profile: 'sysadmin',
        tty: true,
        stdin: true,
        reason: 'node e2e',
      });
      expect(created.status, created.text).toBe(201);
      const { id, streamPath } = created.body;
      const term = openTerminal(rec, alice, streamPath);
      await term.opened;
      term.type('chroot /host ls /etc; echo done-$((6*7))\r');
      await term.waitOutput('done-42');

      // The shim ships what auditd wrote; wait until the host `ls` is there, while the pod still runs.
      const events = await pollUntil(
        () => sessionEvents(rec, alice, id),
        (items) => items.some((e) => argv0(e) === 'ls' && e.exec?.argv.includes('/etc')),
        'the host ls in the session events',
      );
      const chroot = events.find((e) => argv0(e) === 'chroot');
      expect(chroot?.exec).toMatchObject({ session: id, argv: ['chroot', '/host', 'ls', '/etc'] });
      const ls = events.find((e) => argv0(e) === 'ls')!;
      expect(ls.exec).toMatchObject({ session: id, attribution: 'ancestry' });
      // The debug pod's main shell carries the marker in its environment, not in its argv.
      const root = events.find((e) => e.exec?.attribution === 'marker');
      expect(root?.exec).toMatchObject({ session: id, argv: ['bash'] });

      term.type('exit\r');
      expect(await term.closed).toBe(1000);
      const s = (await call<SessionRecord>(rec, alice, 'GET', `/api/v1/sessions/${id}`)).body;
      expect(s).toMatchObject({
        state: 'ended',
        exitCode: 0,
        kind: 'node-debug',
        profile: 'sysadmin',
        user: 'alice',
      });
      const text = outputText(decodeAsciicast(await readFile(recordingPath(rec.dataDir, id), 'utf8')));
      expect(text).toContain('done-42');
      expect(text).toMatch(/\bpasswd\b/); // the host's /etc, listed through chroot /host

      const admin = KubeClient.load({ kubeconfig: sb.kubeconfigFor('admin') });
      const pod = await admin.request({ path: `/api/v1/namespaces/${NS}/pods/${s.pod}` });
      expect(pod.status).toBe(404);
      const create = (await sb.readAudit()).find(
        (e) =>
          e.auditID === id &&
          e.verb === 'create' &&
          e.objectRef?.resource === 'pods' &&
          !e.objectRef.subresource,
      );
      expect(create?.impersonatedUser?.username).toBe('alice');
      expect(create?.user.username).toBe('system:serviceaccount:audited-exec:recorder');
      expect(create?.objectRef?.name ?? s.pod).toBe(s.pod);
    });

    // sysadmin: the debug pod shares the host's pid namespace; baseline: a pid namespace of its own.
    it.each(['sysadmin', 'baseline'] as const)(
      'attributes a non-interactive %s session whose processes are gone before /proc could be read',
      async (profile) => {
        // `-- sh -c 'hostname; uname -r'`: no tty, no stdin, done in milliseconds. The marker must come
        // from the log itself (the entry's argv), not from a look at a process that has already exited.
        const created = await call<SessionCreateResponse>(rec, alice, 'POST', '/api/v1/sessions', {
          kind: 'node-debug',
          node: sb.nodeName,
          profile,
          command: ['sh', '-c', 'hostname; uname -r'],
          tty: false,
          stdin: false,
          reason: 'node e2e, non-interactive',
        });
        expect(created.status, created.text).toBe(201);
        const { id, streamPath } = created.body;
        const ran = await runStream(rec, alice, streamPath);
        expect(ran.exitCode, ran.stderr).toBe(0);
        expect(ran.stdout).toContain(release());

        const events = await pollUntil(
          () => sessionEvents(rec, alice, id),
          (items) => ['sh', 'hostname', 'uname'].every((n) => items.some((e) => argv0(e) === n)),
          'sh, hostname and uname in the non-interactive session',
        );
        expect(events.every((e) => e.kind === 'exec' && e.exec?.session === id)).toBe(true);
        // The entry declares the session in its argv (env AUDITED_EXEC_SESSION=<id> sh -c …).
        expect(events.find((e) => argv0(e) === 'env')?.exec).toMatchObject({
          attribution: 'marker',
          argv: ['env', `AUDITED_EXEC_SESSION=${id}`, 'sh', '-c', 'hostname; uname -r'],
        });
        expect(events.find((e) => argv0(e) === 'hostname')?.exec?.attribution).toBe('ancestry');
        const s = (await call<SessionRecord>(rec, alice, 'GET', `/api/v1/sessions/${id}`)).body;
        expect(s).toMatchObject({ state: 'ended', exitCode: 0, command: ['sh', '-c', 'hostname; uname -r'] });
        expect(s.commandCount).toBeGreaterThanOrEqual(3);
      },
    );

    it("attributes the issue's own command: kubectl audited-exec node/NODE --reason r -- sh -c …", async () => {
      const caFile = writeFiles(rig!.dir, { 'recorder-ca.pem': rec.caPem })['recorder-ca.pem']!;
      const r = await runCommand(
        KUBECTL,
        ['audited-exec', `node/${sb.nodeName}`, '--reason', 'r', '--', 'sh', '-c', 'hostname; uname -r'],
        {
          env: pluginUserEnv(bin!, {
            kubeconfig: sb.kubeconfigPath,
            server: rec.url,
            caFile,
            home: rig!.dir,
          }),
        },
      );
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(release());
      const id = /Session ([0-9a-f-]{36}) recorded by /.exec(r.stderr)?.[1];
      expect(id, r.stderr).toBeDefined();
      const events = await pollUntil(
        () => sessionEvents(rec, alice, id!),
        (items) => ['sh', 'hostname', 'uname'].every((n) => items.some((e) => argv0(e) === n)),
        "the plugin session's sh, hostname and uname",
      );
      expect(events.every((e) => e.exec?.session === id)).toBe(true);
      // From the log itself, not from a /proc look that a quicker command would lose.
      expect(events.find((e) => argv0(e) === 'env')?.exec?.attribution).toBe('marker');
      expect(events.find((e) => argv0(e) === 'hostname')?.exec?.attribution).toBe('ancestry');
    });

    it('refuses a user who may not create pods in the debug namespace; no pod is created', async () => {
      const admin = KubeClient.load({ kubeconfig: sb.kubeconfigFor('admin') });
      const pods = async () =>
        (await admin.request<{ items: unknown[] }>({ path: `/api/v1/namespaces/${NS}/pods` })).body?.items
          .length;
      const before = await pods();
      const r = await call<{ message: string }>(rec, { token: sb.tokens.bob! }, 'POST', '/api/v1/sessions', {
        kind: 'node-debug',
        node: sb.nodeName,
        tty: true,
        stdin: true,
      });
      expect(r.status).toBe(403);
      expect(r.body.message).toContain(
        `cannot create the debug pod in namespace ${NS}: pods is forbidden: User "bob" cannot create resource "pods"`,
      );
      expect(await pods()).toBe(before);
      const refused = (await sb.readAudit()).find(
        (e) =>
          e.verb === 'create' && e.impersonatedUser?.username === 'bob' && e.objectRef?.resource === 'pods',
      );
      expect(refused?.responseStatus?.code).toBe(403);
    });
  },
);

/** The session's terminal as the plugin drives it: stdin in, stdout/stderr collected. */
function openTerminal(rec: { url: string; caPem: string }, creds: Credentials, path: string) {
  const ws = new WebSocket(new URL(path, rec.url.replace(/^http/, 'ws')), [SUBPROTOCOL_V5], {
    ca: rec.caPem,
    headers: { Authorization: `Bearer ${creds.token}` },
  });
  let output = '';
  const waiters = new Set<() => void>();
  ws.on('message', (data: Buffer) => {
    const f = decodeFrame(data);
    if (f?.channel === Channel.stdout || f?.channel === Channel.stderr) {
      output += f.payload.toString('utf8');
      for (const w of waiters) w();
    }
  });
  return {
    opened: new Promise<void>((r, reject) => {
      ws.once('open', () => r());
      ws.once('error', reject);
    }),
    closed: new Promise<number>((r) => ws.on('close', (code) => r(code))),
    type: (text: string) => ws.send(encodeFrame(Channel.stdin, text)),
    waitOutput: (text: string, timeoutMs = 30_000) =>
      new Promise<void>((r, reject) => {
        const check = () => {
          if (!output.includes(text)) return;
          waiters.delete(check);
          clearTimeout(timer);
          r();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`the session never showed ${JSON.stringify(text)}; output so far:\n${output}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
  };
}
