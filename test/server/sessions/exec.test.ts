// End to end: the real recorder against the sandbox apiserver with real runc pods.
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { decodeAsciicast, outputText } from '../../../common/asciicast.ts';
import { encodeResize } from '../../../common/channel.ts';
import { exitCodeFromStatus } from '../../../common/status.ts';
import type { SessionCreateResponse, SessionList, SessionRecord } from '../../../common/wire.ts';
import { recordingPath } from '../../../server/recording/writer.ts';
import { loadTlsIdentity } from '../../../server/tls.ts';
import { type Sandbox, startSandbox } from '../../sandbox/index.ts';
import { skipE2E } from '../../support/prereq.ts';
import { type RecorderHandle, startRecorder } from '../../support/recorder.ts';
import { type Credentials, call, closeStdinFrame, runStream, stdinFrame } from '../client.ts';

describe.skipIf(skipE2E('server exec sessions', 'root', 'runc'))('recorded exec against the sandbox', () => {
  let sb: Sandbox;
  let rec: RecorderHandle;
  let alice: Credentials;

  beforeAll(async () => {
    sb = await startSandbox({ log: () => {} });
    rec = await startRecorder({ sandbox: sb });
    alice = { token: sb.tokens.alice! };
  });
  afterAll(async () => {
    await rec?.stop();
    await sb?.stop();
  });

  const create = (creds: Credentials, body: Record<string, unknown>) =>
    call<SessionCreateResponse & { message?: string }>(rec, creds, 'POST', '/api/v1/sessions', {
      kind: 'exec',
      namespace: 'default',
      pod: 'web',
      tty: false,
      stdin: false,
      ...body,
    });

  it('relays stdout, stderr and the exit code, records them and stores who did it', async () => {
    const created = await create(alice, {
      command: ['sh', '-c', 'echo out; echo err >&2; exit 4'],
      reason: 'debugging',
    });
    expect(created.status).toBe(201);
    const { id, streamPath } = created.body;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(streamPath).toBe(`/api/v1/sessions/${id}/stream`);

    const result = await runStream(rec, alice, streamPath);
    expect(result.protocol).toBe('v5.channel.k8s.io');
    expect(result.stdout).toBe('out\n');
    expect(result.stderr).toBe('err\n');
    expect(result.exitCode).toBe(4);
    expect(result.closeCode).toBe(1000);

    const got = await call<SessionRecord>(rec, alice, 'GET', `/api/v1/sessions/${id}`);
    expect(got.status).toBe(200);
    const s = got.body;
    expect(s).toMatchObject({
      id,
      state: 'ended',
      exitCode: 4,
      user: 'alice',
      namespace: 'default',
      pod: 'web',
      container: 'app',
      containerId: sb.podContainerId('default', 'web'),
      node: sb.nodeName,
      attribution: 'marker',
      auditId: id,
      reason: 'debugging',
      impersonator: 'system:serviceaccount:audited-exec:recorder',
    });
    expect(s.groups).toContain('dev');
    expect(s.image).toBeTruthy();

    const cast = decodeAsciicast(await readFile(recordingPath(rec.dataDir, id), 'utf8'));
    expect(cast.header.version).toBe(2);
    expect(outputText(cast)).toContain('out\n');
    expect(outputText(cast)).toContain('err\n');
    expect(s.recordingBytes).toBeGreaterThan(0);
    expect(s.recordingSha256).toMatch(/^[0-9a-f]{64}$/);

    const audit = await sb.readAudit();
    const exec = audit.find((e) => e.auditID === id && e.objectRef?.subresource === 'exec');
    expect(exec, 'an audit event for the exec with auditID = session id').toBeTruthy();
    expect(exec!.user.username).toBe('system:serviceaccount:audited-exec:recorder');
    expect(exec!.impersonatedUser?.username).toBe('alice');
    expect(exec!.impersonatedUser?.extra?.['audited-exec.io/session']).toEqual([id]);
  });

  it('authenticates a client certificate: CN is the user, O the groups', async () => {
    const carol = { cert: sb.clientCert.cert, key: sb.clientCert.key };
    const created = await create(carol, { command: ['echo', 'hello carol'] });
    expect(created.status).toBe(201);
    const result = await runStream(rec, carol, created.body.streamPath);
    expect(result.stdout).toBe('hello carol\n');
    expect(result.exitCode).toBe(0);
    const s = (await call<SessionRecord>(rec, carol, 'GET', `/api/v1/sessions/${created.body.id}`)).body;
    expect(s).toMatchObject({ user: 'carol', state: 'ended', exitCode: 0 });
    expect(s.groups).toContain('dev');
  });

  it('answers 401 with a Status to requests without valid credentials', async () => {
    const none = await call(rec, {}, 'POST', '/api/v1/sessions', {
      kind: 'exec',
      namespace: 'default',
      pod: 'web',
      command: ['id'],
    });
    expect(none.status).toBe(401);
    expect(none.body).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'Unauthorized', code: 401 });
    const bad = await call(rec, { token: 'not-a-token' }, 'GET', '/api/v1/sessions');
    expect(bad.status).toBe(401);
    // A certificate the cluster CA did not sign names nobody, whatever its CN says.
    const dir = await mkdtemp(join(tmpdir(), 'server-foreign-cert-'));
    try {
      const foreign = await loadTlsIdentity({ dataDir: dir });
      expect(
        (await call(rec, { cert: foreign.cert, key: foreign.key }, 'GET', '/api/v1/sessions')).status,
      ).toBe(401);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    await expect(
      runStream(rec, {}, '/api/v1/sessions/00000000-0000-4000-8000-000000000000/stream'),
    ).rejects.toMatchObject({ status: 401 });
  });

  it("refuses bob's exec with the apiserver's reason and stores the session as refused", async () => {
    const bob = { token: sb.tokens.bob! };
    const created = await create(bob, { command: ['id'] });
    expect(created.status).toBe(201);
    const err = (await runStream(rec, bob, created.body.streamPath).catch((e) => e)) as {
      status: number;
      body: string;
    };
    expect(err.status).toBe(403);
    const status = JSON.parse(err.body);
    expect(status).toMatchObject({ kind: 'Status', code: 403, reason: 'Forbidden' });
    expect(status.message).toMatch(/User "bob" cannot .* "pods\/exec"/);
    const s = (await call<SessionRecord>(rec, bob, 'GET', `/api/v1/sessions/${created.body.id}`)).body;
    expect(s.state).toBe('refused');
    expect(s.error).toBe(status.message);
  });

  it('passes on a missing pod as the apiserver words it, before any exec', async () => {
    const created = await create(alice, { pod: 'nosuchpod', command: ['id'] });
    expect(created.status).toBe(404);
    expect(created.body.message).toMatch(/pods "nosuchpod" not found/);
  });

  it('retries without env in an image that has none and marks the attribution inferred', async () => {
    const hints: unknown[] = [];
    const unsubscribe = rec.recorder.services.events.on('inferredExec', (e) => hints.push(e));
    try {
      const created = await create(alice, {
        pod: 'noenv',
        command: ['sh', '-c', 'echo no env here; exit 3'],
      });
      expect(created.status).toBe(201);
      const result = await runStream(rec, alice, created.body.streamPath);
      expect(result.stdout).toBe('no env here\n');
      expect(result.exitCode).toBe(3);
      const s = (await call<SessionRecord>(rec, alice, 'GET', `/api/v1/sessions/${created.body.id}`)).body;
      expect(s).toMatchObject({ state: 'ended', exitCode: 3, attribution: 'inferred' });
      expect(hints).toEqual([
        expect.objectContaining({
          session: created.body.id,
          containerId: sb.podContainerId('default', 'noenv'),
        }),
      ]);
    } finally {
      unsubscribe();
    }
  });

  it('relays stdin and its close, and opens a stream only once and only for its creator', async () => {
    const created = await create(alice, {
      stdin: true,
      command: ['sh', '-c', 'read x; echo got:$x; cat; echo eof'],
    });
    const other = await runStream(rec, { token: sb.tokens.bob! }, created.body.streamPath).catch((e) => e);
    expect(other.status).toBe(403);
    const result = await runStream(rec, alice, created.body.streamPath, {
      send: [stdinFrame('hello\n'), stdinFrame('more\n'), closeStdinFrame()],
    });
    expect(result.stdout).toBe('got:hello\nmore\neof\n');
    expect(result.exitCode).toBe(0);
    const again = await runStream(rec, alice, created.body.streamPath).catch((e) => e);
    expect(again.status).toBe(409);
  });

  it('relays and records resize events (tty); input is not recorded by default', async () => {
    const created = await create(alice, {
      tty: true,
      stdin: true,
      command: ['sh', '-c', 'echo ready; while read x; do stty size; done'],
    });
    let seen = '';
    let resized = false;
    let sizesSeen = 0;
    const result = await runStream(rec, alice, created.body.streamPath, {
      send: [encodeResize({ width: 100, height: 30 })],
      // Resize only once the shell runs: a pty that does not exist yet cannot be resized. The resize
      // and the keystrokes travel on different channels and runc applies the size to the container's
      // pts when its SIGWINCH handler runs, so a line typed right after the resize may be read before
      // the size changed: ask again after each answer until the new size shows, then end with ^D.
      onStdout: (text, ws) => {
        seen += text;
        if (!resized) {
          if (!seen.includes('ready')) return;
          resized = true;
          ws.send(encodeResize({ width: 120, height: 40 }));
          ws.send(stdinFrame('go\r'));
          return;
        }
        const sizes = seen.match(/^\d+ \d+\r?$/gm) ?? [];
        if (sizes.length === sizesSeen) return;
        sizesSeen = sizes.length;
        ws.send(stdinFrame(sizes.at(-1)?.startsWith('40 120') ? '\x04' : 'go\r'));
      },
    });
    expect(result.stdout).toContain('40 120');
    const cast = decodeAsciicast(await readFile(recordingPath(rec.dataDir, created.body.id), 'utf8'));
    // The first size becomes the header when it arrives before any output, else an `r` event.
    const sizes = [
      `${cast.header.width}x${cast.header.height}`,
      ...cast.events.filter((e) => e.code === 'r').map((e) => e.data),
    ];
    expect(sizes).toContain('100x30');
    expect(sizes.at(-1)).toBe('120x40');
    expect(cast.events.some((e) => e.code === 'i')).toBe(false);
  });

  it('lets the owner and auditors read a session and its recording, and nobody else', async () => {
    const created = await create(alice, { command: ['echo', 'readable'] });
    await runStream(rec, alice, created.body.streamPath);
    const path = `/api/v1/sessions/${created.body.id}`;
    expect((await call(rec, { token: sb.tokens.bob! }, 'GET', path)).status).toBe(403);
    expect((await call(rec, { token: sb.tokens.auditor! }, 'GET', path)).status).toBe(200);
    const cast = await call(rec, { token: sb.tokens.auditor! }, 'GET', `${path}/recording`);
    expect(cast.status).toBe(200);
    expect(cast.headers['content-type']).toBe('application/x-asciicast');
    expect(outputText(decodeAsciicast(cast.text))).toBe('readable\n');
    expect((await call(rec, alice, 'GET', '/api/v1/sessions/..%2F..%2Fetc%2Fpasswd/recording')).status).toBe(
      404,
    );

    const bobs = await call<SessionList>(rec, { token: sb.tokens.bob! }, 'GET', '/api/v1/sessions');
    expect(bobs.body.items.length).toBeGreaterThan(0);
    expect(bobs.body.items.every((i) => i.user === 'bob')).toBe(true);
    expect((await call(rec, { token: sb.tokens.bob! }, 'GET', '/api/v1/sessions?user=alice')).status).toBe(
      403,
    );
    const alices = await call<SessionList>(
      rec,
      { token: sb.tokens.auditor! },
      'GET',
      '/api/v1/sessions?user=alice&limit=2',
    );
    expect(alices.body.items).toHaveLength(2);
    expect(alices.body.continue).toBeTruthy();
    const next = await call<SessionList>(
      rec,
      { token: sb.tokens.auditor! },
      'GET',
      `/api/v1/sessions?user=alice&limit=2&continue=${alices.body.continue}`,
    );
    expect(next.body.items[0]!.startedAt <= alices.body.items[1]!.startedAt).toBe(true);
    expect(next.body.items.map((i) => i.id)).not.toContain(alices.body.items[1]!.id);
  });

  it('accepts a v4 client', async () => {
    const created = await create(alice, { command: ['sh', '-c', 'echo v4; exit 2'] });
    const result = await runStream(rec, alice, created.body.streamPath, { protocols: ['v4.channel.k8s.io'] });
    expect(result.protocol).toBe('v4.channel.k8s.io');
    expect(result).toMatchObject({ stdout: 'v4\n', exitCode: 2 });
  });

  it('applies backpressure: a client that stops reading stops the apiserver side, not the recorder memory', async () => {
    const total = 48 * 1024 * 1024;
    const created = await create(alice, { command: ['sh', '-c', `head -c ${total} /dev/zero | tr '\\0' x`] });
    const ws = new WebSocket(
      new URL(created.body.streamPath, rec.url.replace(/^http/, 'ws')),
      ['v5.channel.k8s.io'],
      {
        ca: rec.caPem,
        headers: { Authorization: `Bearer ${alice.token}` },
      },
    );
    let received = 0;
    let exit: number | null | undefined;
    const closed = new Promise<void>((r) => ws.on('close', () => r()));
    const firstData = new Promise<void>((r) =>
      ws.on('message', (data: Buffer) => {
        if (data[0] === 1) received += data.length - 1;
        if (data[0] === 3) exit = exitCodeFromStatus(data.subarray(1)).code;
        r();
      }),
    );
    await firstData;
    ws.pause();
    const file = recordingPath(rec.dataDir, created.body.id);
    // Wait until the recording stops growing: the relay has paused the apiserver stream.
    let last = -1;
    for (let i = 0; i < 50; i++) {
      const size = (await stat(file)).size;
      if (size === last) break;
      last = size;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(last).toBeLessThan(total / 4);
    ws.resume();
    await closed;
    expect(received).toBe(total);
    expect(exit).toBe(0);
    expect((await stat(file)).size).toBeGreaterThan(total);
  });
});
