// End to end with real auditd, real runc pods from the sandbox cluster, the real recorder and the
// real shim daemon (`node shim/main.ts run`) tailing /var/log/audit/audit.log: recorded sessions
// get their commands (even after the shell exits), concurrent sessions stay apart, a shell opened
// around the recorder raises unrecorded-tty, a forged marker raises marker-conflict, and a forged
// event for another node is refused.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn as spawnPty } from 'node-pty';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { SessionCreateResponse, SessionRecord } from '../../common/wire.ts';
import type { ShimAttachment } from '../../server/shim/attach.ts';
import type { Sandbox } from '../sandbox/index.ts';
import { type Credentials, call, runStream } from '../server/client.ts';
import { KUBECTL, skipE2E } from '../support/prereq.ts';
import type { RecorderHandle } from '../support/recorder.ts';
import { argv0, openTtySession, pollUntil, sessionEvents } from './shim-harness.ts';
import { type ShimRig, startShimRig } from './shim-rig.ts';

describe.skipIf(skipE2E('shim e2e', 'root', 'runc', 'auditd', 'kubectl'))(
  'shim end to end (auditd, runc)',
  () => {
    let rig: ShimRig | undefined;
    let sb: Sandbox;
    let rec: RecorderHandle;
    let shim: ShimAttachment;
    let dir: string;
    let shimToken: string;
    let alice: Credentials;

    beforeAll(async () => {
      rig = await startShimRig('shim-e2e');
      ({ sb, alice, dir } = rig);
      rec = rig.rec();
      shim = rig.shim();
      shimToken = readFileSync(join(dir, 'token'), 'utf8');
    }, 120_000);

    afterAll(async () => {
      await rig?.stop();
    }, 60_000);

    it('attributes commands, a nohup child that runs after exit, and keeps concurrent sessions apart', async () => {
      const a = await openTtySession(rec, alice);
      const b = await openTtySession(rec, alice);
      a.type('id; ls /; echo A-$((1+1))\r');
      b.type('uname -a; hostname; echo B-$((1+1))\r');
      await Promise.all([a.waitOutput('A-2'), b.waitOutput('B-2')]);
      // A shell in A claims B's marker: the runtime did not start it, so it stays in A and the shim
      // reports the claim as forged.
      a.type(`env AUDITED_EXEC_SESSION=${b.id} sh -c true; echo A-$((2+1))\r`);
      await a.waitOutput('A-3');
      a.type("nohup sh -c 'sleep 2; touch /tmp/x' >/dev/null 2>&1 &\r");
      a.type('exit\r');
      b.type('exit\r');
      await Promise.all([a.closed, b.closed]);
      const ended = (await call<SessionRecord>(rec, alice, 'GET', `/api/v1/sessions/${a.id}`)).body;
      expect(ended.state).toBe('ended');

      const eventsA = await pollUntil(
        () => sessionEvents(rec, alice, a.id),
        (items) => items.some((e) => argv0(e) === 'touch' && e.exec?.argv.includes('/tmp/x')),
        "the nohup'd touch in session A's events",
        20_000,
      ).catch(async (err) => {
        const items = await sessionEvents(rec, alice, a.id);
        console.log(
          JSON.stringify(
            items.map((e) => [e.kind, e.exec?.argv ?? e.alert, e.exec?.pid, e.exec?.ppid, e.auditSerial]),
          ),
        );
        throw err;
      });
      const touch = eventsA.find((e) => argv0(e) === 'touch')!;
      expect(touch.exec).toMatchObject({ session: a.id, attribution: 'ancestry' });
      expect(Date.parse(touch.exec!.time)).toBeGreaterThan(Date.parse(ended.endedAt!));
      const namesA = eventsA.map(argv0);
      expect(namesA).toEqual(expect.arrayContaining(['env', 'id', 'ls', 'sleep', 'touch']));
      expect(namesA).not.toContain('uname');
      expect(namesA).not.toContain('hostname');
      expect(eventsA.find((e) => argv0(e) === 'env')?.exec?.attribution).toBe('marker');
      expect(eventsA.every((e) => e.containerId === sb.podContainerId('default', 'web'))).toBe(true);

      const forged = eventsA.find(
        (e) => e.exec?.argv.join(' ') === `env AUDITED_EXEC_SESSION=${b.id} sh -c true`,
      );
      expect(forged?.exec?.session).toBe(a.id);

      const eventsB = await pollUntil(
        () => sessionEvents(rec, alice, b.id),
        (items) => items.some((e) => argv0(e) === 'hostname'),
        "session B's hostname",
      );
      const namesB = eventsB.map(argv0);
      expect(namesB).toEqual(expect.arrayContaining(['env', 'uname', 'hostname']));
      for (const name of ['id', 'ls', 'sh', 'touch', 'sleep']) expect(namesB).not.toContain(name);
      expect(eventsB.filter((e) => e.kind === 'exec').every((e) => e.exec?.session === b.id)).toBe(true);
      // The claim reaches the session it claimed (its auditors must see it), never as a command.
      const claim = [...eventsA, ...eventsB].find((e) => e.alert?.alert === 'marker-forged');
      expect(claim?.alert).toMatchObject({ session: a.id, declared: b.id });

      // The session list carries the counts the plugin's COMMANDS column shows.
      const recordA = (await call<SessionRecord>(rec, alice, 'GET', `/api/v1/sessions/${a.id}`)).body;
      expect(recordA.commandCount).toBe(eventsA.filter((e) => e.kind === 'exec').length);
      expect(recordA.alertCount).toBe(eventsA.filter((e) => e.kind === 'alert').length);
    }, 90_000);

    it('attributes what subshells exec inside the container (fork pids of the pod namespace)', async () => {
      // `( … ) &` and `$(…)` fork without exec: the clone's exit= is a pid of the container's
      // namespace, and the subshells are gone before the shim reads their fork.
      const created = await call<SessionCreateResponse>(rec, alice, 'POST', '/api/v1/sessions', {
        kind: 'exec',
        namespace: 'default',
        pod: 'web',
        command: [
          'bash',
          '-c',
          '( for i in 1 2 3; do /bin/true sub$i; done ) & wait; x=$(/bin/echo hi); /bin/echo got-$x',
        ],
        tty: false,
        stdin: false,
      });
      expect(created.status).toBe(201);
      const ran = await runStream(rec, alice, created.body.streamPath);
      expect(ran.stdout).toContain('got-hi');
      const want = ['/bin/true sub1', '/bin/true sub2', '/bin/true sub3', '/bin/echo hi', '/bin/echo got-hi'];
      const items = await pollUntil(
        () => sessionEvents(rec, alice, created.body.id),
        (list) => want.every((w) => list.some((e) => e.exec?.argv.join(' ') === w)),
        'the subshells execs in the session',
        20_000,
      );
      // The last command bash execs in its own pid (the marker's), the rest in forked children.
      for (const w of want) {
        expect(items.find((e) => e.exec?.argv.join(' ') === w)?.exec).toMatchObject({
          session: created.body.id,
          attribution: w === '/bin/echo got-hi' ? 'marker' : 'ancestry',
        });
      }
    }, 60_000);

    it('raises unrecorded-tty for a kubectl exec -it around the recorder', async () => {
      const since = new Date(Date.now() - 1000).toISOString();
      const pty = spawnPty(KUBECTL, ['exec', '-it', '-n', 'default', 'web', '--', 'bash'], {
        cols: 100,
        rows: 30,
        env: { ...process.env, KUBECONFIG: sb.kubeconfigPath, HOME: dir } as Record<string, string>,
      });
      let screen = '';
      const shown = (text: string) =>
        new Promise<void>((resolve, reject) => {
          const t = setTimeout(() => reject(new Error(`kubectl never showed ${text}:\n${screen}`)), 30_000);
          const sub = pty.onData((d) => {
            screen += d;
            if (screen.includes(text)) {
              clearTimeout(t);
              sub.dispose();
              resolve();
            }
          });
        });
      const exited = new Promise<number>((r) => pty.onExit((e) => r(e.exitCode)));
      const ready = shown('K-2');
      pty.write('echo K-$((1+1))\r');
      await ready;
      // The shell stays open until the alert is in: the shim reads the container id from /proc,
      // which a process that already exited no longer has (then the alert names no container).
      const web = sb.podContainerId('default', 'web');
      const page = await pollUntil(
        () => shim.events.unrecordedAlerts({ node: sb.nodeName, since, limit: 50 }),
        (p) => p.items.some((a) => a.containerId === web),
        'an unrecorded-tty alert for default/web',
      );
      pty.write('exit\r');
      expect(await exited).toBe(0);
      const alert = page.items.find((a) => a.containerId === web)!;
      expect(alert).toMatchObject({
        alert: 'unrecorded-tty',
        session: null,
        namespace: 'default',
        pod: 'web',
      });
      expect(alert.tty).toMatch(/^pts/);
      // The shell is the alert, never the runtime (`runc init` runs in the pod's cgroup with a tty).
      const forWeb = page.items.filter((a) => a.containerId === web);
      expect(forWeb.map((a) => a.argv[0]?.split('/').at(-1))).not.toContain('runc');
      expect(forWeb.length).toBe(1);
    }, 60_000);

    it('refuses a forged event for another node and keeps serving the real shim', async () => {
      const ws = new WebSocket(`${rec.url.replace(/^https/, 'wss')}/api/v1/shim`, {
        ca: rec.caPem,
        headers: { Authorization: `Bearer ${shimToken}` },
      });
      await new Promise((r, j) => ws.once('open', r).once('error', j));
      const reply = new Promise<string>((r) => ws.once('message', (d) => r(String(d))));
      const closed = new Promise<number>((r) => ws.once('close', (c) => r(c)));
      const forged = {
        seq: 1,
        node: 'some-other-node',
        bootId: 'forged',
        auditSerial: 1,
        auditTime: '1.000',
        containerId: null,
        kind: 'exec',
        exec: {
          session: null,
          attribution: null,
          argv: ['rm', '-rf', '/'],
          pid: 1,
          ppid: 0,
          time: new Date().toISOString(),
          auditId: '1.000:1',
          tty: null,
          cwd: '/',
          exe: '/bin/rm',
          uid: 0,
        },
        raw: [],
      };
      ws.send(JSON.stringify({ type: 'events', events: [forged] }));
      expect(JSON.parse(await reply)).toMatchObject({ type: 'error', status: { code: 403 } });
      expect(await closed).toBe(1008);
      expect(shim.ingest.stats.refusedForeignNode).toBe(1);
      expect((await call(rec, {}, 'GET', '/healthz')).status).toBe(200);
      expect(shim.ingest.nodes()).toEqual([sb.nodeName]);
      // The real shim still delivers: a new session's command arrives.
      const s = await openTtySession(rec, alice);
      s.type('exit\r');
      await s.closed;
      await pollUntil(
        () => sessionEvents(rec, alice, s.id),
        (items) => items.some((e) => argv0(e) === 'bash'),
        'the next session after the forged message',
      );
    }, 60_000);
  },
);
