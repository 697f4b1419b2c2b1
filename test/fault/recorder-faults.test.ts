// The recorder itself fails: SIGKILL while output streams at full speed (not at a quiet moment),
// and a data directory (database and recordings) on a 512 KiB tmpfs that fills up (the fresh
// database with its WAL already takes most of 256 KiB since the admission and alert tables). Nothing the
// user saw may be missing from the recording; the session ends interrupted with a sentence; the
// server (or its restart) keeps serving.
// On a full disk the recorder releases its reserve to store final states, reports not ready and
// refuses new sessions with 507; a restart on a full disk starts and stores what it could not.
// test/server/sessions/failures.test.ts covers a quiet SIGKILL and a full recordings directory.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAsciicast, outputText } from '../../common/asciicast.ts';
import { KubeClient } from '../../server/kube/client.ts';
import { recordingPath } from '../../server/recording/writer.ts';
import { BALLAST_FILE } from '../../server/store/disk.ts';
import type { SqliteStore } from '../../server/store/sqlite.ts';
import { type Sandbox, startSandbox } from '../sandbox/index.ts';
import { type Credentials, call, createExecSession } from '../server/client.ts';
import { finalState, healthy, openSession } from '../support/fault-session.ts';
import { skipE2E } from '../support/prereq.ts';
import { spawnRecorder, startRecorder } from '../support/recorder.ts';
import { fillDisk, mountTmpfs } from '../support/small-disk.ts';

describe.skipIf(skipE2E('fault: recorder', 'root', 'runc'))('recorder faults', () => {
  let sb: Sandbox;
  let alice: Credentials;
  const cleanups: (() => Promise<unknown> | unknown)[] = [];

  beforeAll(async () => {
    sb = await startSandbox({ log: () => {} });
    alice = { token: sb.tokens.alice! };
  }, 120_000);
  afterAll(async () => {
    for (const c of cleanups.reverse())
      await Promise.resolve()
        .then(c)
        .catch(() => {});
    await sb?.stop();
  });

  it('SIGKILL during bulk output: the recording holds every byte the client received; restart marks it interrupted', async () => {
    const child = await spawnRecorder({ sandbox: sb });
    cleanups.push(() => child.stop());
    const s = await openSession(child, alice, {
      command: [
        'sh',
        '-c',
        'i=0; while :; do i=$((i+1)); echo "line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"; done',
      ],
      stdin: false,
    });
    await s.waitOutput('line-2000-');
    child.kill('SIGKILL');
    const closed = await s.closed;
    expect(closed.code).toBe(1006); // the process is gone: no close frame can be sent
    await child.exited;
    const received = s.output();
    const recorded = outputText(decodeAsciicast(readFileSync(recordingPath(child.dataDir, s.id), 'utf8')));
    // Written before forwarded: what the client got is a prefix of what was recorded.
    expect(received.length).toBeGreaterThan(0);
    expect(recorded.startsWith(received)).toBe(true);

    const restarted = await startRecorder({ sandbox: sb, dataDir: child.dataDir });
    cleanups.push(() => restarted.stop());
    const record = await finalState(restarted, alice, s.id);
    expect(record.state).toBe('interrupted');
    expect(record.error).toMatch(/recorder stopped/);
    await healthy(restarted, alice);
  }, 60_000);

  it('sweeps a session whose stream is never opened to interrupted while the recorder runs', async () => {
    const rec = await startRecorder({ sandbox: sb, settings: { streamTimeoutMs: 1000 } });
    cleanups.push(() => rec.stop());
    const created = await createExecSession<{ id: string }>(rec, alice);
    expect(created.status).toBe(201);
    // The stream timeout (1 s) plus a sweep interval and the 1 s margin: well under 10 s.
    const record = await finalState(rec, alice, created.body.id, 10_000);
    expect(record).toMatchObject({ state: 'interrupted', error: 'the stream was never opened' });
    expect(Date.parse(record.endedAt!) - Date.parse(record.startedAt)).toBeGreaterThanOrEqual(2000);
  }, 30_000);

  it('still deletes the debug pod of a node-debug session whose stream is never opened', async () => {
    const rec = await startRecorder({
      sandbox: sb,
      settings: { streamTimeoutMs: 1000, debugNamespace: 'audited-exec', debugImage: 'busybox:1.36' },
      policy: { nodeDebug: { profiles: [{ groups: ['dev'], allow: ['general'] }] } },
    });
    cleanups.push(() => rec.stop());
    const created = await call<{ id: string }>(rec, alice, 'POST', '/api/v1/sessions', {
      kind: 'node-debug',
      node: sb.nodeName,
      namespace: 'default',
      tty: true,
      stdin: true,
    });
    expect(created.status, created.text).toBe(201);
    const id = created.body.id;
    const admin = KubeClient.load({ kubeconfig: sb.kubeconfigFor('admin') });
    const pods = async () =>
      (
        await admin.request<{ items: unknown[] }>({
          path: `/api/v1/namespaces/audited-exec/pods?labelSelector=${encodeURIComponent(`audited-exec.io/session=${id}`)}`,
        })
      ).body!.items.length;
    expect(await pods()).toBe(1);
    const record = await finalState(rec, alice, id, 10_000);
    // node-debug's own timer refuses it (or the sweep interrupts it): either way the pod goes.
    expect(['refused', 'interrupted']).toContain(record.state);
    const deadline = Date.now() + 10_000;
    while ((await pods()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(await pods()).toBe(0);
  }, 30_000);

  it('a full data disk (512 KiB tmpfs) ends the overflowing session with a message, and space freed lets new sessions work', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'fault-diskfull-'));
    const unmount = mountTmpfs(dataDir, '512k');
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    cleanups.push(unmount);
    const rec = await startRecorder({ sandbox: sb, dataDir });
    cleanups.push(() => rec.stop());
    const filler = await openSession(rec, alice, {
      command: ['sh', '-c', "head -c 2000000 /dev/zero | tr '\\0' x; echo; echo all-done"],
      stdin: false,
    });
    const closed = await filler.closed;
    expect(closed.code).toBe(1000);
    expect(filler.output()).toMatch(/no disk space/);
    expect(filler.output()).not.toContain('all-done');
    expect(JSON.parse(filler.statuses().at(-1) ?? '{}')).toMatchObject({ status: 'Failure' });
    // The database shares the full disk: its reserve (store/disk.ts) is released so the final
    // state is stored, not left `running`.
    const record = await finalState(rec, alice, filler.id);
    expect(record.state).toBe('interrupted');
    expect(record.error).toMatch(/no disk space/);
    expect((rec.recorder.store as SqliteStore).pendingWrites).toBe(0);
    // While the disk is full: not ready, with the reason, and new sessions refused before any exec.
    const ready = await call<{ status: string; reason?: string }>(rec, {}, 'GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.reason).toMatch(/disk is full/);
    const refused = await healthy(rec, alice).then(
      () => 'worked',
      (e: Error) => e.message,
    );
    expect(refused).toMatch(/session refused: 507 .*the recorder's disk is full/);
    // An operator frees space: the reserve is written back, and sessions work again.
    await rm(recordingPath(dataDir, filler.id), { force: true });
    // Writers still finishing with the ended session (its evidence seal) may hold some of the space
    // a moment longer on a loaded machine: wait for readiness, and say what fills the disk if not.
    await readyAgain(rec, dataDir);
    expect(rec.recorder.disk.held()).toBe(true);
    await healthy(rec, alice);
  }, 60_000);

  it('restarts on a full data disk without its reserve: starts, marks the stale session, stores it once space is freed', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'fault-diskfull-restart-'));
    const unmount = mountTmpfs(dataDir, '512k');
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    cleanups.push(unmount);
    const child = await spawnRecorder({ sandbox: sb, dataDir });
    cleanups.push(() => child.stop());
    const s = await openSession(child, alice, { command: ['cat'] });
    child.kill('SIGKILL');
    await child.exited;
    // The disk fills while the recorder is down, and the reserve is gone too.
    rmSync(join(dataDir, BALLAST_FILE));
    fillDisk(join(dataDir, 'operator-junk'));

    const rec = await startRecorder({ sandbox: sb, dataDir });
    cleanups.push(() => rec.stop());
    const record = await finalState(rec, alice, s.id);
    expect(record.state).toBe('interrupted');
    expect(record.error).toMatch(/recorder stopped/);
    expect((rec.recorder.store as SqliteStore).pendingWrites).toBe(1);
    const ready = await call<{ status: string; reason?: string }>(rec, {}, 'GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.reason).toMatch(/disk is full/);
    const created = await createExecSession<Record<string, unknown>>(rec, alice);
    expect(created.status).toBe(507);
    expect(created.body).toMatchObject({ kind: 'Status', message: expect.stringMatching(/disk is full/) });

    rmSync(join(dataDir, 'operator-junk'));
    await readyAgain(rec, dataDir);
    expect((rec.recorder.store as SqliteStore).pendingWrites).toBe(0);
    await healthy(rec, alice);
    await rec.stop();
    const db = new DatabaseSync(join(dataDir, 'audited-exec.db'), { readOnly: true });
    expect(db.prepare('SELECT state FROM sessions WHERE id = ?').get(s.id)).toEqual({ state: 'interrupted' });
    db.close();
  }, 60_000);
});

/** Polls /readyz until 200; on timeout fails with its reason and the data dir's largest files. */
async function readyAgain(
  rec: Parameters<typeof call>[0],
  dataDir: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await call<{ reason?: string }>(rec, {}, 'GET', '/readyz');
    if (r.status === 200) return;
    if (Date.now() > deadline) {
      const files = readdirSync(dataDir, { recursive: true, withFileTypes: true })
        .filter((f) => f.isFile())
        .map(
          (f) =>
            `${join(f.parentPath, f.name).slice(dataDir.length)} ${statSync(join(f.parentPath, f.name)).size}`,
        );
      throw new Error(
        `not ready ${timeoutMs} ms after space was freed: ${r.body?.reason}; files: ${files.join(', ')}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
