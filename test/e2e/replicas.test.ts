// Three recorder replicas on one PostgreSQL database and one S3 bucket (Ceph RGW), behind HAProxy,
// driven by the REAL kubectl and plugin: sessions spread over the replicas and every replica
// serves every session; a live view opened on a replica that does not record the session follows
// it; a replica killed mid-session leaves its sessions interrupted and byte-complete in the bucket;
// a rolling restart cuts nothing silently and refuses no new session.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAsciicast, outputText } from '../../common/asciicast.ts';
import type { SessionRecord } from '../../common/wire.ts';
import { RecorderClient } from '../../plugin/client.ts';
import { recordingPath } from '../../server/recording/writer.ts';
import { S3ObjectStore } from '../../server/storage/s3-store.ts';
import { type Sandbox, startSandbox } from '../sandbox/index.ts';
import { skipRgw } from '../support/ceph-rgw.ts';
import { skipHaproxy } from '../support/haproxy.ts';
import { createPluginBin, type PluginBin } from '../support/plugin-bin.ts';
import { KUBECTL, skipE2E } from '../support/prereq.ts';
import { type ReplicaCluster, startReplicaCluster } from '../support/replicas.ts';
import { runCommand } from '../support/terminal-screen.ts';

const SUITE = 'replicas e2e';
const SESSION_LINE = /Session ([0-9a-f-]{36}) recorded by /;

describe.skipIf(
  skipE2E(SUITE, 'root', 'runc', 'kubectl', 'postgres') || skipRgw(SUITE) || skipHaproxy(SUITE),
)('three recorder replicas on PostgreSQL and S3 behind HAProxy', () => {
  let sb: Sandbox;
  let cluster: ReplicaCluster;
  let bin: PluginBin;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'replicas-e2e-'));
    bin = createPluginBin();
    sb = await startSandbox({ runtime: 'runc', log: () => {} });
    cluster = await startReplicaCluster({ sandbox: sb, count: 3, drainSeconds: 60 });
  }, 300_000);

  afterAll(async () => {
    await cluster?.stop();
    await sb?.stop();
    bin?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  const env = (): NodeJS.ProcessEnv => ({
    ...process.env,
    PATH: bin.path,
    KUBECONFIG: sb.kubeconfigPath,
    AUDITED_EXEC_SERVER: cluster.url,
    AUDITED_EXEC_SERVER_CA: cluster.caFile,
    HOME: dir,
  });

  const auditorAt = (url: string) =>
    new RecorderClient({
      url,
      headers: { Authorization: `Bearer ${sb.tokens.auditor}` },
      tls: { ca: cluster.caPem },
    });

  async function session(url: string, id: string): Promise<SessionRecord> {
    return JSON.parse(await auditorAt(url).getText(`/api/v1/sessions/${id}`)) as SessionRecord;
  }

  /** One counter of a replica's /metrics (the admin may read them), summed over its labels. */
  async function metric(url: string, name: string): Promise<number> {
    const text = await new RecorderClient({
      url,
      headers: { Authorization: `Bearer ${sb.tokens.admin}` },
      tls: { ca: cluster.caPem },
    }).getText('/metrics');
    let sum = 0;
    for (const line of text.split('\n')) {
      const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`).exec(line);
      if (m) sum += Number(m[1]);
    }
    return sum;
  }

  /** Waits for the thing the test depends on (never a fixed time). */
  async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe().catch(() => undefined);
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async function run(args: string[]) {
    const r = await runCommand(KUBECTL, ['audited-exec', ...args], { env: env() });
    const id = SESSION_LINE.exec(r.stderr)?.[1];
    return { ...r, id };
  }

  /** A session left running: resolves once its output started, with its id and the process. */
  async function startLong(tag: string, seconds: number) {
    const child: ChildProcess = spawn(
      KUBECTL,
      ['audited-exec', 'web', '--', 'sh', '-c', `echo begin-${tag}; sleep ${seconds}; echo end-${tag}`],
      { env: env(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c) => (stdout += c));
    child.stderr!.on('data', (c) => (stderr += c));
    const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
    const id = await until(`session ${tag} to start`, async () =>
      stdout.includes(`begin-${tag}`) ? SESSION_LINE.exec(stderr)?.[1] : undefined,
    );
    return { tag, id, child, exited, out: () => stdout, err: () => stderr };
  }

  it('spreads 30 kubectl sessions over all three; every replica serves each one', async () => {
    const ids: string[] = [];
    for (let batch = 0; batch < 30; batch += 6) {
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, k) => run(['web', '--', 'sh', '-c', `echo spread-${batch + k}`])),
      );
      for (const [k, r] of results.entries()) {
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toContain(`spread-${batch + k}`);
        ids.push(r.id!);
      }
    }
    const owners = new Set<string>();
    for (const [i, id] of ids.entries()) {
      for (const replica of cluster.replicas) {
        const s = await session(replica.url, id);
        expect(s.state).toBe('ended');
        owners.add(s.replica!);
        const cast = decodeAsciicast(await auditorAt(replica.url).getRecording(id));
        expect(outputText(cast)).toContain(`spread-${i}`);
        const events = JSON.parse(await auditorAt(replica.url).getText(`/api/v1/sessions/${id}/events`));
        expect(Array.isArray(events.items)).toBe(true);
      }
      // Evidence is sealed after the end, on the replica that recorded it; any replica exports it.
      for (const replica of cluster.replicas) {
        const file = join(dir, `${id}-${replica.id}.tgz`);
        const bytes = await until(`evidence of ${id} from ${replica.id}`, () =>
          auditorAt(replica.url).download(`/api/v1/sessions/${id}/evidence`, file),
        );
        expect(bytes).toBeGreaterThan(0);
      }
    }
    expect([...owners].sort()).toEqual(['r1', 'r2', 'r3']);
  }, 300_000);

  it('a live view opened on a replica that does not record the session follows it', async () => {
    const long = await startLong('live', 3);
    const owner = (await session(cluster.url, long.id)).replica!;
    const other = cluster.replicas.find((r) => r.id !== owner)!;
    const live = await auditorAt(other.url).getText(`/ui/sessions/${long.id}/live`);
    // The stream ends when the session does: it carried the output from both sides of the sleep.
    expect(live).toContain(`begin-live`);
    expect(live).toContain(`end-live`);
    expect(await long.exited).toBe(0);
  }, 120_000);

  it('SIGKILL mid-session: its sessions are taken over once, interrupted and byte-complete in the bucket; the others carry on', async () => {
    const mine = [
      await startLong('kill-a', 60),
      await startLong('kill-b', 60),
      await startLong('kill-c', 60),
    ];
    const owners = await Promise.all(mine.map(async (m) => (await session(cluster.url, m.id)).replica!));
    const victim = cluster.replicas.find((r) => r.id === owners[0])!;
    victim.process!.kill('SIGKILL');
    await victim.process!.exited;
    const cut = mine.filter((_, i) => owners[i] === victim.id);
    const spared = mine.filter((_, i) => owners[i] !== victim.id);
    for (const m of cut) expect(await m.exited).not.toBe(0);
    // Sessions on the other replicas are not touched: still running.
    for (const m of spared) expect((await session(cluster.url, m.id)).state).toBe('running');
    // New sessions keep working while one replica is gone.
    const during = await run(['web', '--', 'echo', 'while-one-is-down']);
    expect(during.code, during.stderr).toBe(0);
    // Once its lease ran out, the survivors take its sessions over: exactly once between them.
    const survivors = cluster.replicas.filter((r) => r !== victim);
    for (const m of cut) {
      await until(
        `${m.id} taken over`,
        async () => ((await session(cluster.url, m.id)).state === 'interrupted' ? true : undefined),
        90_000,
      );
    }
    const takenOver = await Promise.all(
      survivors.map((r) => metric(r.url, 'audited_exec_sessions_taken_over_total')),
    );
    expect(takenOver.reduce((a, b) => a + b, 0)).toBe(cut.length);
    await victim.start();
    const s3 = new S3ObjectStore({
      endpoint: cluster.rgw.endpoint,
      region: cluster.rgw.region,
      bucket: cluster.bucket,
      prefix: 'audited-exec',
      credentials: { accessKeyId: cluster.rgw.accessKeyId, secretAccessKey: cluster.rgw.secretAccessKey },
    });
    for (const m of cut) {
      const s = await session(cluster.url, m.id);
      expect(s.state).toBe('interrupted');
      expect(s.error).toMatch(/recorder/);
      // Byte-complete: the object is the replica's own file, and holds what the user saw.
      const local = readFileSync(recordingPath(victim.dataDir, m.id));
      const size = await until(`${m.id} uploaded`, async () => {
        const n = await s3.size(`recordings/${m.id}.cast`);
        return n === local.length ? n : undefined;
      });
      expect(size).toBe(local.length);
      // Everything the user saw is in it.
      expect(outputText(decodeAsciicast(local.toString('utf8')))).toContain(m.out().trim());
      expect(m.out()).toContain(`begin-${m.tag}`);
    }
    for (const m of spared) m.child.kill('SIGINT');
    await Promise.all(spared.map((m) => m.exited));
  }, 180_000);

  it('a rolling restart while 10 sessions run: each ends or is interrupted with a message; no new session fails', async () => {
    const running = await Promise.all(Array.from({ length: 10 }, (_, i) => startLong(`roll-${i}`, 3)));
    const fresh: ReturnType<typeof run>[] = [];
    const t0 = Date.now();
    const roll: string[] = [];
    let rolling = true;
    const newcomers = (async () => {
      for (let n = 0; rolling; n++) {
        const at = Date.now();
        fresh.push(
          run(['web', '--', 'echo', `new-${n}`]).then((r) => ({
            ...r,
            stderr: `${r.stderr} [started ${at - t0} ms]`,
          })),
        );
        // pacing the load (one new session a second through the roll), not waiting for anything
        await new Promise((r) => setTimeout(r, 1000));
      }
    })();
    for (const replica of cluster.replicas) {
      roll.push(`${Date.now() - t0} ms: SIGTERM ${replica.id}`);
      replica.process!.kill('SIGTERM');
      await replica.process!.exited;
      roll.push(`${Date.now() - t0} ms: ${replica.id} exited`);
      await replica.start();
      roll.push(`${Date.now() - t0} ms: ${replica.id} listening`);
      await until(`${replica.id} ready`, async () => {
        const ready = await fetchStatus(`${replica.url}/readyz`);
        return ready === 200 ? true : undefined;
      });
    }
    rolling = false;
    await newcomers;
    const started = await Promise.all(fresh);
    expect(started.length).toBeGreaterThan(3);
    const failed = started.filter((r) => r.code !== 0);
    if (failed.length) process.stderr.write(`HAPROXY LOG:\n${cluster.balancerLog()}\n`);
    for (const r of started) expect(r.code, `${r.stderr}\n${roll.join('\n')}`).toBe(0);
    for (const s of running) {
      const code = await s.exited;
      const record = await session(cluster.url, s.id);
      if (code === 0) {
        expect(record.state).toBe('ended');
        expect(s.out()).toContain(`end-${s.tag}`);
      } else {
        expect(record.state).toBe('interrupted');
        expect(s.err()).toMatch(/shutting down/);
      }
    }
  }, 300_000);

  /** The HTTP status of a GET, trusting the replicas' shared certificate. */
  async function fetchStatus(url: string): Promise<number> {
    const { request } = await import('node:https');
    return new Promise((resolve, reject) => {
      const req = request(url, { ca: cluster.caPem }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
  }
});
