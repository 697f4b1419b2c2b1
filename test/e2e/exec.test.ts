// End to end: the sandbox cluster, the real recorder, and the REAL kubectl 1.32 finding the plugin
// on PATH. What a user types is what runs; the assertions read the recording, the session store and
// the sandbox apiserver's audit log.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Asciicast, decodeAsciicast, outputText } from '../../common/asciicast.ts';
import type { SessionList } from '../../common/wire.ts';
import { RecorderClient } from '../../plugin/client.ts';
import { httpRequest } from '../../plugin/http.ts';
import { LOST_MESSAGE } from '../../plugin/stream.ts';
import { recordingPath } from '../../server/recording/writer.ts';
import { defaultPolicy, type RbacRule, type Sandbox, startSandbox } from '../sandbox/index.ts';
import { createPluginBin, type PluginBin, pluginUserEnv } from '../support/plugin-bin.ts';
import { KUBECTL, skipE2E } from '../support/prereq.ts';
import { type RecorderHandle, spawnRecorder, startRecorder } from '../support/recorder.ts';
import { replay, runCommand, runInPty, screen, spawnScreen } from '../support/terminal-screen.ts';

const SESSION_LINE = /Session ([0-9a-f-]{36}) recorded by /;

describe.skipIf(skipE2E('exec e2e', 'root', 'runc', 'kubectl'))('kubectl audited-exec (e2e)', () => {
  let sb: Sandbox;
  let rec: RecorderHandle;
  let bin: PluginBin;
  let dir: string;
  let caFile: string;
  let auditor: RecorderClient;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'plugin-e2e-'));
    bin = createPluginBin();
    sb = await startSandbox({ runtime: 'runc', log: () => {} });
    rec = await startRecorder({ sandbox: sb });
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

  /** The environment a user would have: kubeconfig, the recorder's address and CA, PATH with the plugin. */
  function userEnv(over: { kubeconfig?: string; server?: string } = {}): NodeJS.ProcessEnv {
    return pluginUserEnv(bin, {
      kubeconfig: over.kubeconfig ?? sb.kubeconfigPath,
      server: over.server ?? rec.url,
      caFile,
      home: dir,
    });
  }

  const kubectl = (args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}) =>
    runCommand(KUBECTL, args, { env: opts.env ?? userEnv(), input: opts.input ?? '' });

  async function recording(id: string): Promise<Asciicast> {
    return decodeAsciicast(await auditor.getRecording(id));
  }

  it('runs a command: both streams, the remote exit code, the recording and the audit trail', async () => {
    const r = await kubectl(['audited-exec', 'web', '--', 'sh', '-c', 'echo out; echo err >&2; exit 4']);
    expect(r.code).toBe(4);
    expect(r.stdout).toBe('out\n');
    const id = SESSION_LINE.exec(r.stderr)?.[1];
    expect(id, r.stderr).toBeDefined();
    expect(r.stderr).toContain('err\n');

    const cast = await recording(id!);
    expect(outputText(cast)).toContain('out\n');
    expect(outputText(cast)).toContain('err\n');

    const exec = (await sb.readAudit()).filter(
      (e) => e.auditID === id && e.objectRef?.subresource === 'exec',
    );
    expect(exec.length).toBeGreaterThan(0);
    for (const e of exec) {
      expect(e.user.username).toBe('system:serviceaccount:audited-exec:recorder');
      expect(e.impersonatedUser?.username).toBe('alice');
    }
    const record = await auditor.getSession(id!);
    expect(record).toMatchObject({ state: 'ended', exitCode: 4, user: 'alice', pod: 'web', auditId: id });
  });

  it('pipes stdin with -i', async () => {
    const r = await kubectl(['audited-exec', 'web', '-i', '-q', '--', 'cat'], { input: 'hi\n' });
    expect(r).toEqual({ code: 0, stdout: 'hi\n', stderr: '' });
  });

  it('refuses bob with the apiserver reason, exit code 1, and leaves no session running', async () => {
    const r = await kubectl(['audited-exec', 'web', '--', 'id'], {
      env: userEnv({ kubeconfig: sb.kubeconfigFor('bob') }),
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      /^Error from server \(Forbidden\): pods "web" is forbidden: User "bob" cannot /m,
    );
    expect(r.stderr).not.toMatch(SESSION_LINE);
    const bobs = await auditor.listSessions({ user: 'bob' });
    expect(bobs.items.length).toBeGreaterThan(0);
    expect(bobs.items.filter((s) => s.state === 'running' || s.state === 'pending')).toEqual([]);
  });

  it('tells an unauthenticated user to log in', async () => {
    const bad = join(dir, 'bad-token.yaml');
    writeFileSync(
      bad,
      readFileSync(sb.kubeconfigFor('alice'), 'utf8').replace(sb.tokens.alice!, 'not-a-valid-token'),
    );
    const r = await kubectl(['audited-exec', 'web', '--', 'id'], { env: userEnv({ kubeconfig: bad }) });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^error: You must be logged in to the server \(Unauthorized\): the audited-exec recorder at https:\/\/127\.0\.0\.1:\d+ did not accept/,
    );
  });

  it('lists the sessions as JSON and as a table, and plays one back by id prefix', async () => {
    const r = await kubectl(['audited-exec', 'sessions', '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const list = JSON.parse(r.stdout) as SessionList;
    expect(list.items.some((s) => s.user === 'alice' && s.exitCode === 4)).toBe(true);
    expect(list.continue).toBeUndefined();
    const four = list.items.find((s) => s.user === 'alice' && s.exitCode === 4)!;
    const played = await kubectl(['audited-exec', 'play', four.id.slice(0, 8), '--speed', '50']);
    expect(played.code, played.stderr).toBe(0);
    expect(played.stdout).toContain('out\n');
    expect(played.stdout).toContain('err\n');
    const table = await kubectl(['audited-exec', 'sessions']);
    expect(table.stdout).toMatch(/^ID\s+USER\s+KIND\s+TARGET\s+STARTED/);
    expect(table.stdout).toMatch(/alice\s+exec\s+default\/web\s+\S+\s+\S+\s+4\s/);
  });

  it("finds the recorder through the audited-exec-plugin ConfigMap, read with the user's credentials", async () => {
    const env = userEnv();
    delete env.AUDITED_EXEC_SERVER;
    delete env.AUDITED_EXEC_SERVER_CA;
    // Without RBAC on the ConfigMap the user is told the other two ways.
    const readsPluginConfig = (r: RbacRule) => r.resourceNames?.includes('audited-exec-plugin') ?? false;
    expect(defaultPolicy().rules.some(readsPluginConfig)).toBe(true);
    sb.setRbac({ rules: defaultPolicy().rules.filter((r) => !readsPluginConfig(r)) });
    const denied = await kubectl(['audited-exec', 'web', '--', 'true'], { env });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(
      /cannot read the ConfigMap audited-exec\/audited-exec-plugin .*forbidden.*--server URL/,
    );

    // With it (deploy/app/rbac-users.yaml, and the sandbox's default policy), the plugin finds it.
    sb.setRbac(defaultPolicy());
    try {
      const created = await fetchAsAdmin('/api/v1/namespaces/audited-exec/configmaps', {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'audited-exec-plugin', namespace: 'audited-exec' },
        data: { server: rec.url, 'ca.crt': rec.caPem },
      });
      expect(created).toBe(201);
      const r = await kubectl(['audited-exec', 'web', '--', 'echo', 'via-configmap'], { env });
      expect(r.stderr).toContain(`recorded by ${rec.url}`);
      expect(r).toMatchObject({ code: 0, stdout: 'via-configmap\n' });
    } finally {
      sb.setRbac(defaultPolicy());
    }
  });

  async function fetchAsAdmin(path: string, body: unknown): Promise<number> {
    const res = await httpRequest({
      url: sb.url + path,
      method: 'POST',
      headers: { Authorization: `Bearer ${sb.tokens.admin}` },
      body: JSON.stringify(body),
      tls: { ca: sb.caPem },
    });
    return res.status;
  }

  it('drives an interactive bash under a pty; the recording replays to the same screen', async () => {
    let localLineEnd: string | undefined;
    const t = spawnScreen(KUBECTL, ['audited-exec', 'web', '-it', '-q', '--', 'bash'], {
      cols: 80,
      rows: 24,
      env: userEnv(),
    });
    try {
      await t.waitFor(/[#$] $/);
      // The line end as the container sent it: the plugin turns output processing off like kubectl,
      // so its terminal adds no \r of its own (checked against the recording below). The sandbox's
      // `runc exec -t` under node-pty sometimes sends \r\r\n itself (runc clears the container
      // pty's ONLCR after bash may have saved its tty state): the recording shows the same bytes.
      await t.type('echo hello-$((6*7))\r', /hello-42\r+\n.*[#$] $/s);
      localLineEnd = /hello-42(\r*\n)/.exec(t.seen())![1];
      // SIGWINCH and typed bytes race inside the plugin; readline's redraw of the prompt on the
      // remote SIGWINCH is the event that says the resize got through.
      const beforeResize = t.seen().length;
      t.resize(100, 30);
      await t.waitFor(/\r {20,}\r.*[#$] $/s, beforeResize);
      await t.type('stty size\r', /30 100\r\n.*[#$] $/s);
      await t.type('printf "\\033[1mbold\\033[0m %s\\n" done\r', /bold.* done\r\n.*[#$] $/s);
      t.write('exit\r');
      expect(await t.exited).toBe(0);
    } finally {
      t.kill();
    }
    const client = await t.screen();

    const sessions = await auditor.listSessions({ user: 'alice' });
    const session = sessions.items.find((s) => s.tty && s.command.join(' ') === 'bash');
    expect(session).toBeDefined();
    const text = await auditor.getRecording(session!.id);
    const cast = decodeAsciicast(text);
    expect(localLineEnd).toBe(/hello-42(\r*\n)/.exec(outputText(cast))![1]);
    expect(cast.events.some((e) => e.code === 'r' && e.data === '100x30')).toBe(true);
    expect(screen(await replay(cast))).toEqual(screen(client));

    const file = join(dir, 'interactive.cast');
    writeFileSync(file, text);
    const cat = await runInPty('/usr/bin/asciinema', ['cat', file]);
    expect(cat.code, cat.output).toBe(0);
    expect(cat.output).toContain('hello-42');
  });

  it('exits with the clear error when the recorder dies, and the recording holds what the user saw', async () => {
    const child = await spawnRecorder({ sandbox: sb });
    const childCa = join(dir, 'child-ca.pem');
    writeFileSync(childCa, child.caPem);
    try {
      const env = { ...userEnv({ server: child.url }), AUDITED_EXEC_SERVER_CA: childCa };
      const k: ChildProcess = spawn(
        KUBECTL,
        ['audited-exec', 'web', '-i', '--', 'sh', '-c', 'echo start; cat'],
        {
          env,
          stdio: ['pipe', 'pipe', 'pipe'],
        },
      );
      let stdout = '';
      let stderr = '';
      const progress: Array<() => void> = [];
      k.stdout!.on('data', (c) => {
        stdout += c;
        for (const f of progress.splice(0)) f();
      });
      k.stderr!.on('data', (c) => {
        stderr += c;
      });
      const closed = new Promise<number | null>((r) => k.on('close', r));
      const until = async (cond: () => boolean) => {
        while (!cond()) await new Promise<void>((r) => progress.push(r));
      };
      await until(() => stdout.includes('start\n'));
      k.stdin!.write('line one\n');
      await until(() => stdout.includes('line one\n'));

      child.kill('SIGKILL');
      await child.exited;
      expect(await closed).toBe(1);
      expect(stderr).toContain(`error: ${LOST_MESSAGE}`);

      const id = SESSION_LINE.exec(stderr)?.[1];
      expect(id).toBeDefined();
      const cast = decodeAsciicast(readFileSync(recordingPath(child.dataDir, id!), 'utf8'));
      expect(outputText(cast)).toBe(stdout);
    } finally {
      await child.stop();
    }
  });
});
