// A whole shim deployment for fault tests: sandbox cluster with runc pods, the project's audit rules
// under a key of the suite, a recorder on a data dir of its own (restartable on the same port), the
// shim daemon as a child process (killable, restartable on the same state dir), and a burst of
// tagged execs in a recorded session, counted back by audit serial.

import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SessionCreateResponse } from '../../common/wire.ts';
import type { ShimAttachment } from '../../server/shim/attach.ts';
import { type Sandbox, startSandbox } from '../sandbox/index.ts';
import { type Credentials, call, runStream } from '../server/client.ts';
import { loadAuditRules } from '../support/audit-rules.ts';
import { type RecorderHandle, type RecorderTestOptions, startRecorder } from '../support/recorder.ts';
import { mountTmpfs } from '../support/small-disk.ts';
import {
  pollUntil,
  type ShimChild,
  type StoredEvent,
  sessionEvents,
  spawnShim,
  writeFiles,
} from './shim-harness.ts';

export interface ShimRig {
  sb: Sandbox;
  /** the rig's own temp dir: the shim's state is in `state/`, the recorder's data in `data/` */
  dir: string;
  alice: Credentials;
  rec(): RecorderHandle;
  shim(): ShimAttachment;
  child(): ShimChild;
  /** SIGKILLs the shim (no checkpoint, no goodbye) and starts a new one on the same state dir. */
  killShim(): Promise<void>;
  startShim(): Promise<void>;
  stopRecorder(): Promise<void>;
  /** On the same port and data dir as before. */
  startRecorder(): Promise<void>;
  stop(): Promise<void>;
}

export interface ShimRigOptions {
  /** recorder settings beyond the data dir and port the rig owns */
  settings?: RecorderTestOptions['settings'];
  /** The shim's state dir (spool, checkpoint) on a tmpfs of this size, e.g. '1m' (root). */
  stateTmpfs?: string;
}

export async function startShimRig(name: string, o: ShimRigOptions = {}): Promise<ShimRig> {
  const dir = mkdtempSync(join(tmpdir(), `${name}-`));
  const stateDir = join(dir, 'state');
  let unmount = (): void => {};
  if (o.stateTmpfs) {
    mkdirSync(stateDir);
    unmount = mountTmpfs(stateDir, o.stateTmpfs);
  }
  const removeRules = loadAuditRules(`${name}-${process.pid}`);
  let sb: Sandbox | undefined;
  let rec: RecorderHandle | undefined;
  let child: ShimChild | undefined;
  let port = 0;
  const alice: Credentials = {};
  let files: Record<string, string> = {};
  const rig: ShimRig = {
    get sb() {
      return sb!;
    },
    dir,
    alice,
    rec: () => rec!,
    shim: () => rec!.recorder.modules.shim,
    child: () => child!,
    async startShim() {
      child = spawnShim({
        url: rec!.url,
        caFile: files['ca.pem']!,
        tokenFile: files.token!,
        node: sb!.nodeName,
        stateDir,
      });
      await child.waitFor(/"msg":"tailing"/, 30_000);
      await child.waitFor(/"msg":"connected to recorder"/, 30_000);
    },
    async killShim() {
      child!.kill('SIGKILL');
      await child!.exited;
      await rig.startShim();
    },
    async stopRecorder() {
      rec!.recorder.modules.shim.ingest.close();
      await rec!.stop();
    },
    async startRecorder() {
      rec = await startRecorder({
        sandbox: sb!,
        dataDir: join(dir, 'data'),
        settings: { ...o.settings, port },
      });
      port = Number(new URL(rec.url).port);
    },
    async stop() {
      if (child) {
        child.kill('SIGTERM');
        const late = setTimeout(() => child?.kill('SIGKILL'), 10_000);
        await child.exited;
        clearTimeout(late);
      }
      removeRules();
      if (rec) await rig.stopRecorder().catch(() => {});
      await sb?.stop();
      unmount();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    sb = await startSandbox({ runtime: 'runc', log: () => {} });
    alice.token = sb.tokens.alice!;
    await rig.startRecorder();
    const token = sb.shimToken();
    files = writeFiles(dir, { token, 'ca.pem': rec!.caPem });
    await rig.startShim();
    return rig;
  } catch (err) {
    await rig.stop();
    throw err;
  }
}

export interface Burst {
  session: string;
  tag: string;
  count: number;
  /** the recorded stream's end (a detached burst: already ended) */
  ended: Promise<unknown>;
  /** the burst's execs the recorder stored so far */
  stored(): Promise<StoredEvent[]>;
  /** Resolves once at least `n` are stored (by the highest number seen). */
  progress(n: number, what: string, timeoutMs?: number): Promise<StoredEvent[]>;
}

/** A recorded session whose bash runs `/bin/true <tag><i>` for i = 1..count. `detach`: the loop is
 *  nohup'd and outlives the session's stream, so the recorder itself can go away under it (its
 *  events are then late events of an ended session). Otherwise the loop runs in the session,
 *  which ends when the loop does. */
export async function startBurst(
  rig: ShimRig,
  o: { count: number; detach?: boolean; pause?: number },
): Promise<Burst> {
  const tag = `b${randomBytes(3).toString('hex')}-`;
  const pause = o.pause ? `; sleep ${o.pause}` : '';
  const loop = `for ((i=1;i<=${o.count};i++)); do /bin/true ${tag}$i${pause}; done`;
  const command = o.detach ? `nohup bash -c '${loop}' >/dev/null 2>&1 &` : loop;
  const created = await call<SessionCreateResponse>(rig.rec(), rig.alice, 'POST', '/api/v1/sessions', {
    kind: 'exec',
    namespace: 'default',
    pod: 'web',
    command: ['bash', '-c', command],
    tty: false,
    stdin: false,
  });
  if (created.status !== 201) throw new Error(`session refused: ${created.text}`);
  const stream = runStream(rig.rec(), rig.alice, created.body.streamPath).then((ran) => {
    if (ran.exitCode !== 0) throw new Error(`burst session exited ${ran.exitCode}: ${ran.stderr}`);
  });
  if (o.detach) await stream;
  const session = created.body.id;
  const stored = async () =>
    (await sessionEvents(rig.rec(), rig.alice, session)).filter((e) => e.exec?.argv[1]?.startsWith(tag));
  return {
    session,
    tag,
    count: o.count,
    ended: stream,
    stored,
    progress: (n, what, timeoutMs = 30_000) =>
      pollUntil(stored, (items) => highest(items, tag) >= n, what, timeoutMs).catch(async (err) => {
        const got = await stored().catch(() => []);
        const log = rig.child().stderr().slice(-3000);
        throw new Error(`${what}: ${got.length} stored, highest ${highest(got, tag)}; shim log:\n${log}`, {
          cause: err,
        });
      }),
  };
}

export function highest(items: StoredEvent[], tag: string): number {
  return Math.max(0, ...items.map((e) => Number(e.exec!.argv[1]!.slice(tag.length))));
}

/** Counted by audit serial: every number 1..count once, every serial once, all in the session. */
export function exactlyOnce(b: Burst, items: StoredEvent[]): { missing: number[]; twice: number } {
  const serials = items.map((e) => `${e.bootId}:${e.auditSerial}`);
  const seen = new Set(items.map((e) => Number(e.exec!.argv[1]!.slice(b.tag.length))));
  const missing: number[] = [];
  for (let i = 1; i <= b.count; i++) if (!seen.has(i)) missing.push(i);
  const wrong = items.filter((e) => e.exec?.session !== b.session).length;
  return { missing, twice: serials.length - new Set(serials).size + wrong };
}
