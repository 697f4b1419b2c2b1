// Fail-closed behaviour against the sandbox: a recording that cannot be written ends the session,
// a data dir that cannot take one refuses it, policy refuses before any exec, and a recorder that
// dies or is stopped leaves every byte the user saw in the recording.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAsciicast, outputText } from '../../../common/asciicast.ts';
import type { SessionCreateResponse, SessionRecord } from '../../../common/wire.ts';
import { RECORDINGS_DIR, recordingPath } from '../../../server/recording/writer.ts';
import { SqliteStore } from '../../../server/store/sqlite.ts';
import { type Sandbox, startSandbox } from '../../sandbox/index.ts';
import { skipE2E } from '../../support/prereq.ts';
import { type RecorderHandle, spawnRecorder, startRecorder } from '../../support/recorder.ts';
import { mountTmpfs } from '../../support/small-disk.ts';
import { type Credentials, call, runStream, stdinFrame, type Target } from '../client.ts';

const EXEC = { kind: 'exec', namespace: 'default', pod: 'web', tty: false, stdin: false };

describe.skipIf(skipE2E('server failure modes', 'root', 'runc'))('failure modes', () => {
  let sb: Sandbox;
  let alice: Credentials;
  const cleanups: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    sb = await startSandbox({ log: () => {} });
    alice = { token: sb.tokens.alice! };
  });
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    await sb?.stop();
  });

  const recorder = async (o: { policy?: unknown } = {}): Promise<RecorderHandle> => {
    const rec = await startRecorder({ sandbox: sb, ...o });
    cleanups.push(() => rec.stop());
    return rec;
  };
  const create = (rec: Target, body: Record<string, unknown>) =>
    call<SessionCreateResponse & { message?: string }>(rec, alice, 'POST', '/api/v1/sessions', {
      ...EXEC,
      ...body,
    });
  const execEventsFor = async (user: string) =>
    (await sb.readAudit()).filter(
      (e) => e.objectRef?.subresource === 'exec' && e.impersonatedUser?.username === user,
    );

  it('ends the session with a clear message when the recording fills the disk, forwarding nothing unrecorded', async () => {
    const rec = await recorder();
    const dir = `${rec.dataDir}/${RECORDINGS_DIR}`;
    await mkdir(dir, { recursive: true });
    const unmount = mountTmpfs(dir, '512k');
    cleanups.push(async () => unmount());
    const created = await create(rec, {
      command: ['sh', '-c', "head -c 3000000 /dev/zero | tr '\\0' x; echo; echo done"],
    });
    expect(created.status).toBe(201);
    const result = await runStream(rec, alice, created.body.streamPath);
    expect(result.stderr).toMatch(
      /no disk space left; the session was ended because it could not be recorded/,
    );
    expect(JSON.parse(result.statuses.at(-1)!)).toMatchObject({ status: 'Failure' });
    expect(result.stdout).not.toContain('done');
    const recorded = outputText(
      decodeAsciicast(await readFile(recordingPath(rec.dataDir, created.body.id), 'utf8')),
    );
    // Everything the user saw is in the recording (the recording may hold a little more: the frame
    // whose event did not fit entirely is never forwarded). 512k leaves room for several 64k pipe-sized frames before the disk is full.
    expect(recorded.startsWith(result.stdout)).toBe(true);
    expect(result.stdout.length).toBeGreaterThan(0);
    const s = (await call<SessionRecord>(rec, alice, 'GET', `/api/v1/sessions/${created.body.id}`)).body;
    expect(s.state).toBe('interrupted');
    expect(s.error).toMatch(/no disk space/);
  });

  it('refuses a session before any exec when the data dir cannot take a recording', async () => {
    const rec = await recorder();
    await rm(`${rec.dataDir}/${RECORDINGS_DIR}`, { recursive: true, force: true });
    await writeFile(`${rec.dataDir}/${RECORDINGS_DIR}`, 'not a directory');
    const before = (await execEventsFor('alice')).length;
    const created = await create(rec, { command: ['id'] });
    expect(created.status).toBe(503);
    expect(created.body.message).toMatch(/cannot write recordings .*no session was started/);
    expect((await execEventsFor('alice')).length).toBe(before);
  });

  it('refuses by policy (422, clear message) before any exec, and stores the attempt', async () => {
    const rec = await recorder({
      policy: { exec: [{ namespaces: ['default'], pods: ['w*'], requireReason: true }] },
    });
    const before = (await execEventsFor('alice')).length;
    const refused = await create(rec, { command: ['id'] });
    expect(refused.status).toBe(422);
    expect(refused.body.message).toMatch(/require a reason; pass --reason/);
    expect((await execEventsFor('alice')).length).toBe(before);
    const list = await call<{ items: SessionRecord[] }>(rec, alice, 'GET', '/api/v1/sessions?state=refused');
    expect(list.body.items[0]).toMatchObject({ user: 'alice', pod: 'web', state: 'refused' });
    const ok = await create(rec, { command: ['id'], reason: 'incident 42' });
    expect(ok.status).toBe(201);
  });

  it('records input as `i` events where policy asks for it', async () => {
    const rec = await recorder({ policy: { exec: [{ namespaces: ['default'], recordInput: true }] } });
    const created = await create(rec, { stdin: true, command: ['sh', '-c', 'read x; echo got-$x'] });
    const result = await runStream(rec, alice, created.body.streamPath, { send: [stdinFrame('typed\n')] });
    expect(result.stdout).toBe('got-typed\n');
    const cast = decodeAsciicast(await readFile(recordingPath(rec.dataDir, created.body.id), 'utf8'));
    expect(cast.events.filter((e) => e.code === 'i').map((e) => e.data)).toEqual(['typed\n']);
    const s = (await call<SessionRecord>(rec, alice, 'GET', `/api/v1/sessions/${created.body.id}`)).body;
    expect(s.recordInput).toBe(true);
  });

  it('keeps what the user saw when the recorder is killed, and marks the session interrupted on restart', async () => {
    const child = await spawnRecorder({ sandbox: sb });
    cleanups.push(() => child.stop());
    const created = await create(child, { command: ['sh', '-c', 'echo before-kill; sleep 60'] });
    expect(created.status).toBe(201);
    const result = await runStream(child, alice, created.body.streamPath, {
      onStdout: (text) => {
        if (text.includes('before-kill')) child.kill('SIGKILL');
      },
    });
    expect(result.stdout).toBe('before-kill\n');
    expect(result.closeCode).toBe(1006);
    await child.exited;
    const cast = decodeAsciicast(await readFile(recordingPath(child.dataDir, created.body.id), 'utf8'));
    expect(outputText(cast)).toBe('before-kill\n');

    const restarted = await startRecorder({ sandbox: sb, dataDir: child.dataDir });
    cleanups.push(() => restarted.stop());
    const s = (await call<SessionRecord>(restarted, alice, 'GET', `/api/v1/sessions/${created.body.id}`))
      .body;
    expect(s.state).toBe('interrupted');
    expect(s.error).toMatch(/recorder stopped/);
  });

  it('on SIGTERM ends open sessions as interrupted with a message, then exits', async () => {
    const child = await spawnRecorder({ sandbox: sb });
    cleanups.push(() => child.stop());
    const created = await create(child, { command: ['sh', '-c', 'echo started; sleep 60'] });
    const result = await runStream(child, alice, created.body.streamPath, {
      onStdout: (text) => {
        if (text.includes('started')) child.kill('SIGTERM');
      },
    });
    expect(result.stderr).toMatch(/recorder is shutting down \(SIGTERM\)/);
    expect(JSON.parse(result.statuses.at(-1)!)).toMatchObject({ status: 'Failure' });
    expect(await child.exited).toEqual({ code: 0, signal: null });
    const store = new SqliteStore({ dataDir: child.dataDir });
    const s = await store.getSession(created.body.id);
    await store.close();
    expect(s).toMatchObject({ state: 'interrupted', recordingBytes: expect.any(Number) });
    expect(s!.error).toMatch(/shutting down/);
  });
});
