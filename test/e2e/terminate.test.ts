// A moderator ends someone's running session, end to end: the sandbox cluster with runc pods, the
// real recorder, REAL kubectl 1.32 running the plugin for the user and for the moderator. The user's
// kubectl prints who ended it and why and exits 77; the process in the pod is gone; the recording
// carries the marker; the evidence bundle says so and verifies; the apiserver's audit log shows the
// recorder closing the stream (and deleting a debug pod) under the session's auditID. A user without
// the terminate verb is refused with a sentence and the session runs on.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAsciicast, outputText } from '../../common/asciicast.ts';
import { FILES } from '../../common/evidence/format.ts';
import { TERMINATED_EXIT_CODE } from '../../common/termination.ts';
import type { SessionRecord } from '../../common/wire.ts';
import { readBundleMember } from '../../plugin/bundle.ts';
import { RecorderClient } from '../../plugin/client.ts';
import type { Sandbox } from '../sandbox/index.ts';
import { startSandbox } from '../sandbox/index.ts';
import { createPluginBin, type PluginBin, pluginUserEnv } from '../support/plugin-bin.ts';
import { KUBECTL, skipE2E } from '../support/prereq.ts';
import { type RecorderHandle, startRecorder } from '../support/recorder.ts';
import { runCommand } from '../support/terminal-screen.ts';

const SESSION_LINE = /Session ([0-9a-f-]{36}) recorded by /;
const DEBUG_NS = 'audited-exec';
/** Generous: the CI runs this on a loaded 2-core machine. */
const DEADLINE_MS = 60_000;

/** A kubectl process the test watches as it runs. */
interface Running {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves once `ready` holds for what it printed; rejects (with its output) at the deadline or exit. */
  until(ready: (out: { stdout: string; stderr: string }) => boolean, what: string): Promise<void>;
  exited: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

function start(args: string[], env: NodeJS.ProcessEnv): Running {
  const child = spawn(KUBECTL, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const checks = new Set<() => void>();
  const changed = () => {
    for (const c of checks) c();
  };
  child.stdout!.on('data', (c: Buffer) => {
    out += c;
    changed();
  });
  child.stderr!.on('data', (c: Buffer) => {
    err += c;
    changed();
  });
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((r) =>
    child.once('close', (code) => r({ code, stdout: out, stderr: err })),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    until(ready, what) {
      return new Promise((resolve, reject) => {
        const fail = (why: string) => () => {
          checks.delete(check);
          reject(new Error(`${what}: ${why}\nstdout: ${out}\nstderr: ${err}`));
        };
        const timer = setTimeout(fail(`not within ${DEADLINE_MS / 1000} s`), DEADLINE_MS);
        const check = () => {
          if (!ready({ stdout: out, stderr: err })) return;
          checks.delete(check);
          clearTimeout(timer);
          resolve();
        };
        checks.add(check);
        void exited.then(() => {
          if (checks.has(check)) {
            clearTimeout(timer);
            fail('kubectl exited first')();
          }
        });
        check();
      });
    },
  };
}

/** Host pids whose environment carries the session's marker: the session's processes, in any pod. */
function markedProcesses(id: string): number[] {
  const marker = `AUDITED_EXEC_SESSION=${id}`;
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/environ`, 'latin1').split('\0').includes(marker))
        pids.push(Number(name));
    } catch {
      // gone meanwhile, or a kernel thread
    }
  }
  return pids;
}

/** Polls `check` until it is true (the thing it reads has no event to wait for), with a deadline. */
async function eventually(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + DEADLINE_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${DEADLINE_MS / 1000} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe.skipIf(skipE2E('terminate e2e', 'root', 'runc', 'kubectl'))('terminating a session (e2e)', () => {
  let sb: Sandbox;
  let rec: RecorderHandle;
  let bin: PluginBin;
  let dir: string;
  let caFile: string;
  let auditor: RecorderClient;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'terminate-e2e-'));
    bin = createPluginBin();
    sb = await startSandbox({ runtime: 'runc', log: () => {} });
    rec = await startRecorder({ sandbox: sb, settings: { debugNamespace: DEBUG_NS } });
    caFile = join(dir, 'recorder-ca.pem');
    writeFileSync(caFile, rec.caPem);
    auditor = new RecorderClient({
      url: rec.url,
      headers: { Authorization: `Bearer ${sb.tokens.auditor}` },
      tls: { ca: rec.caPem },
    });
  }, 120_000);

  afterAll(async () => {
    await rec?.stop();
    await sb?.stop();
    bin?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function envFor(user: string): NodeJS.ProcessEnv {
    return pluginUserEnv(bin, { kubeconfig: sb.kubeconfigFor(user), server: rec.url, caFile, home: dir });
  }

  const kubectl = (user: string, args: string[]) =>
    runCommand(KUBECTL, args, { env: envFor(user), input: '' });

  /** alice's session printing "ready" every second (a debug pod's attach misses what came before
   *  it): its id once its output reaches her. */
  async function runningSession(target: string[]): Promise<{ user: Running; id: string }> {
    const user = start(
      ['audited-exec', ...target, '--', 'sh', '-c', 'while :; do echo ready; sleep 1; done'],
      envFor('alice'),
    );
    await user.until((o) => SESSION_LINE.test(o.stderr) && o.stdout.includes('ready'), 'session running');
    return { user, id: SESSION_LINE.exec(user.stderr())![1]! };
  }

  it('ends a pod exec: the user reads who and why, the process is gone, the trail shows it', async () => {
    const { user, id } = await runningSession(['web']);
    expect(markedProcesses(id).length).toBeGreaterThan(0);

    // bob may not: a sentence naming the missing right, a non-zero exit, and the session runs on.
    const refused = await kubectl('bob', ['audited-exec', 'terminate', id, '--reason', 'not mine']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /^Error from server \(Forbidden\): bob may not terminate session [0-9a-f-]{36}: it needs terminate on sessions\.audited-exec\.io/m,
    );
    expect((await auditor.getSession(id)).state).toBe('running');
    expect(user.child.exitCode).toBeNull();
    expect(markedProcesses(id).length).toBeGreaterThan(0);

    // Neither may a reason that is only whitespace.
    const blank = await kubectl('moderator', ['audited-exec', 'terminate', id, '--reason', '  ']);
    expect(blank.code).toBe(1);
    expect(blank.stderr).toContain('a reason is required');

    const before = new Date().toISOString();
    const done = await kubectl('moderator', [
      'audited-exec',
      'terminate',
      id.slice(0, 8),
      '--reason',
      'INC-7: runaway\u001b[31m job',
    ]);
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toBe(`session ${id} terminated (user alice): "INC-7: runaway job"\n`);

    const ended = await user.exited;
    expect(ended.code).toBe(TERMINATED_EXIT_CODE);
    expect(ended.stderr).toContain('audited-exec: session terminated by moderator: "INC-7: runaway job"\n');
    await eventually(() => markedProcesses(id).length === 0, 'the session’s processes gone');

    const record = await auditor.getSession(id);
    expect(record).toMatchObject({
      state: 'terminated',
      terminatedBy: 'moderator',
      terminationReason: 'INC-7: runaway job',
    });
    const cast = decodeAsciicast(await auditor.getRecording(id));
    expect(outputText(cast)).toContain('ready');
    const markers = cast.events.filter((e) => e.code === 'm');
    expect(markers.map((m) => m.data)).toEqual(['terminated by moderator: INC-7: runaway job']);
    expect(cast.events.at(-1)?.code).toBe('m');

    // The recorder closed the exec stream it opened as alice: the apiserver logged its end then.
    const execEnds = (await sb.readAudit()).filter(
      (e) => e.auditID === id && e.objectRef?.subresource === 'exec' && e.stage === 'ResponseComplete',
    );
    expect(execEnds.length).toBeGreaterThan(0);
    const last = execEnds.at(-1)!;
    expect(last.user.username).toBe('system:serviceaccount:audited-exec:recorder');
    expect(last.impersonatedUser?.username).toBe('alice');
    expect(last.stageTimestamp >= before).toBe(true);

    await expectEvidence(record);
  }, 180_000);

  it('ends a node debug session and deletes its debug pod, the delete stamped with the session id', async () => {
    const { user, id } = await runningSession([`node/${sb.nodeName}`, '--profile', 'general']);
    const running = await auditor.getSession(id);
    expect(running.pod).toBeDefined();
    expect((await kubectl('admin', ['get', 'pod', '-n', DEBUG_NS, running.pod!, '-o', 'name'])).code).toBe(0);

    const done = await kubectl('moderator', ['audited-exec', 'terminate', id, '--reason', 'node drain']);
    expect(done.code, done.stderr).toBe(0);
    const ended = await user.exited;
    expect(ended.code).toBe(TERMINATED_EXIT_CODE);
    expect(ended.stderr).toContain('audited-exec: session terminated by moderator: "node drain"');

    await eventually(async () => {
      const r = await kubectl('admin', ['get', 'pod', '-n', DEBUG_NS, running.pod!, '-o', 'name']);
      return r.code !== 0 && r.stderr.includes('NotFound');
    }, 'the debug pod deleted');
    await eventually(() => markedProcesses(id).length === 0, 'the debug container’s processes gone');
    const deletes = (await sb.readAudit()).filter(
      (e) => e.auditID === id && e.verb === 'delete' && e.objectRef?.name === running.pod,
    );
    expect(deletes.length).toBeGreaterThan(0);
    expect(deletes[0]!.user.username).toBe('system:serviceaccount:audited-exec:recorder');
    expect(await auditor.getSession(id)).toMatchObject({ state: 'terminated', terminatedBy: 'moderator' });
    const cast = decodeAsciicast(await auditor.getRecording(id));
    expect(cast.events.filter((e) => e.code === 'm').map((m) => m.data)).toEqual([
      'terminated by moderator: node drain',
    ]);
  }, 180_000);

  /** The bundle an auditor exports names the termination, and verifies against the recorder's key. */
  async function expectEvidence(record: SessionRecord): Promise<void> {
    const file = join(dir, `${record.id}.tar.gz`);
    const exported = await kubectl('auditor', ['audited-exec', 'export', record.id, '-o', file]);
    expect(exported.code, exported.stderr).toBe(0);
    const key = JSON.parse(await auditor.getText('/.well-known/audited-exec/signing-key')) as {
      fingerprint: string;
    };
    const verified = await kubectl('auditor', [
      'audited-exec',
      'verify',
      file,
      '--fingerprint',
      key.fingerprint,
    ]);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toContain(`(exec, terminated)`);
    expect(verified.stdout).toContain('ended by:  moderator: "INC-7: runaway job"');
    const session = JSON.parse(
      Buffer.from((await readBundleMember(file, FILES.session, 1 << 20))!).toString('utf8'),
    ) as SessionRecord;
    expect(session).toMatchObject({ state: 'terminated', terminatedBy: 'moderator' });
    const report = Buffer.from((await readBundleMember(file, FILES.report, 64 << 20))!).toString('utf8');
    expect(report).toContain('<th>Terminated by</th><td>moderator</td>');
    expect(report).toContain('<th>Termination reason</th><td>INC-7: runaway job</td>');
  }
});
