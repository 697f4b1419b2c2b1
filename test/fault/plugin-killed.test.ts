// The user's side dies: `node plugin/main.ts` is SIGKILLed mid-session. The server must end the
// session as interrupted, close the remote command's stdin (so it exits and nothing is left
// running in the pod), and keep the recording intact up to what the user was shown.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAsciicast, outputText } from '../../common/asciicast.ts';
import { type Sandbox, startSandbox } from '../sandbox/index.ts';
import { type Credentials, call, runStream } from '../server/client.ts';
import { finalState } from '../support/fault-session.ts';
import { PLUGIN_MAIN } from '../support/plugin-bin.ts';
import { skipE2E } from '../support/prereq.ts';
import { type RecorderHandle, startRecorder } from '../support/recorder.ts';

const SESSION_LINE = /Session ([0-9a-f-]{36}) recorded by /;

describe.skipIf(skipE2E('fault: plugin killed', 'root', 'runc'))('plugin killed mid-session', () => {
  let sb: Sandbox;
  let rec: RecorderHandle;
  let dir: string;
  let alice: Credentials;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fault-plugin-'));
    sb = await startSandbox({ log: () => {} });
    rec = await startRecorder({ sandbox: sb });
    writeFileSync(join(dir, 'ca.pem'), rec.caPem);
    alice = { token: sb.tokens.alice! };
  }, 120_000);
  afterAll(async () => {
    await rec?.stop();
    await sb?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Runs a command in the pod directly through the recorder (as alice) and returns its stdout. */
  async function podShell(script: string): Promise<string> {
    const created = await call<{ streamPath: string }>(rec, alice, 'POST', '/api/v1/sessions', {
      kind: 'exec',
      namespace: 'default',
      pod: 'web',
      tty: false,
      stdin: false,
      command: ['sh', '-c', script],
    });
    return (await runStream(rec, alice, created.body.streamPath)).stdout;
  }

  it('ends the session interrupted, stops the remote command, keeps the recording', async () => {
    const pidFile = `/tmp/fault-plugin-${process.pid}.pid`;
    const plugin = spawn(
      process.execPath,
      [PLUGIN_MAIN, 'web', '-i', '--', 'sh', '-c', `echo $$ > ${pidFile}; echo started; exec cat`],
      {
        env: {
          ...process.env,
          KUBECONFIG: sb.kubeconfigFor('alice'),
          AUDITED_EXEC_SERVER: rec.url,
          AUDITED_EXEC_SERVER_CA: join(dir, 'ca.pem'),
          HOME: dir,
        },
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    plugin.stderr.on('data', (c) => {
      stderr += c;
    });
    const exited = new Promise((r) => plugin.once('exit', r));
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`plugin never showed output; stderr: ${stderr}`)), 30_000);
      plugin.stdout.on('data', (c) => {
        stdout += c;
        if (stdout.includes('echo-me')) {
          clearTimeout(t);
          resolve();
        } else if (stdout.includes('started')) plugin.stdin.write('echo-me\n');
      });
    });
    const id = SESSION_LINE.exec(stderr)?.[1];
    expect(id, stderr).toBeDefined();
    plugin.kill('SIGKILL');
    await exited;

    const record = await finalState(rec, alice, id!);
    expect(record.state).toBe('interrupted');
    expect(record.error).toMatch(/user|connection/);
    const cast = decodeAsciicast((await call(rec, alice, 'GET', `/api/v1/sessions/${id}/recording`)).text);
    expect(outputText(cast)).toBe(stdout);

    // The remote cat lost its stdin with the stream: it must be gone, not left running in the pod.
    const pid = (await podShell(`cat ${pidFile}`)).trim();
    expect(pid).toMatch(/^\d+$/);
    let alive = 'alive';
    for (let i = 0; i < 50 && alive.includes('alive'); i++) {
      alive = await podShell(`kill -0 ${pid} 2>/dev/null && echo alive || echo gone`);
      if (alive.includes('alive')) await new Promise((r) => setTimeout(r, 200));
    }
    expect(alive.trim()).toBe('gone');
  }, 60_000);
});
