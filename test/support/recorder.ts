// Starts the real recorder against a sandbox cluster, for any suite that needs one (server, plugin,
// UI, shim). In-process (startRecorder) for speed and access to internals; as a child process
// (spawnRecorder) where a test must kill it.
//
//   const sb = await startSandbox();
//   const rec = await startRecorder({ sandbox: sb, policy: { exec: [{ requireReason: true }] } });
//   rec.url, rec.caPem (trust it as the CA), rec.dataDir, rec.recorder (internals), await rec.stop();
//   const child = await spawnRecorder({ sandbox: sb }); child.kill('SIGKILL'); await child.exited;
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createRecorder, type Recorder, type RecorderOverrides } from '../../server/app.ts';
import { DEFAULT_SETTINGS, type Settings } from '../../server/config.ts';
import { parsePolicy } from '../../server/policy.ts';

/** What the helper needs from the sandbox (test/sandbox/index.ts startSandbox()). */
export interface SandboxLike {
  kubeconfigFor(user: string): string;
}

export interface RecorderTestOptions {
  sandbox: SandboxLike;
  /** Default: a fresh temp dir, removed by stop(). */
  dataDir?: string;
  /** Policy document (as in a policy file); default: nothing required. */
  policy?: unknown;
  /** Any other setting (streamTimeoutMs, tokenCacheMs, …). */
  settings?: Partial<Settings>;
  /** Default: discard (tests assert on behaviour, not logs). */
  log?: (line: string) => void;
  /** Shim events per session, instead of the store's own (tests that script the timeline). */
  events?: RecorderOverrides['events'];
}

export interface RecorderHandle {
  url: string;
  /** The recorder's self-signed certificate: pass as `ca` to clients. */
  caPem: string;
  dataDir: string;
  recorder: Recorder;
  stop(): Promise<void>;
}

const ROOT = resolve(import.meta.dirname, '../..');

export async function startRecorder(o: RecorderTestOptions): Promise<RecorderHandle> {
  const ownDir = !o.dataDir;
  const dataDir = o.dataDir ?? (await mkdtemp(join(tmpdir(), 'audited-exec-recorder-')));
  const settings: Settings = {
    ...DEFAULT_SETTINGS,
    host: '127.0.0.1',
    port: 0,
    dataDir,
    kubeconfig: o.sandbox.kubeconfigFor('recorder'),
    ...o.settings,
  };
  const recorder = await createRecorder(settings, {
    log: o.log ?? (() => {}),
    ...(o.policy !== undefined ? { policy: parsePolicy(o.policy, 'test policy') } : {}),
    ...(o.events ? { events: o.events } : {}),
  });
  return {
    url: recorder.url,
    caPem: recorder.tls.cert,
    dataDir,
    recorder,
    async stop() {
      await recorder.close();
      if (ownDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface SpawnedRecorder {
  url: string;
  caPem: string;
  dataDir: string;
  pid: number;
  kill(signal?: NodeJS.Signals): void;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything the process wrote to stderr so far. */
  stderr(): string;
  /** Kills (SIGKILL) if still running and removes an owned data dir. */
  stop(): Promise<void>;
}

/** `node server/main.ts` as a child process on 127.0.0.1:0, exactly as `npm start` runs it. */
export async function spawnRecorder(
  o: Omit<RecorderTestOptions, 'log' | 'settings'> & {
    env?: NodeJS.ProcessEnv;
    /** HOST:PORT; default 127.0.0.1:0 */
    listen?: string;
    /** more flags (--database, --replica-id, …) */
    args?: string[];
  },
): Promise<SpawnedRecorder> {
  const ownDir = !o.dataDir;
  const dataDir = o.dataDir ?? (await mkdtemp(join(tmpdir(), 'audited-exec-recorder-')));
  const args = [
    // as package.json's start script runs it
    '--max-semi-space-size=2',
    'server/main.ts',
    '--listen',
    o.listen ?? '127.0.0.1:0',
    '--data-dir',
    dataDir,
    '--kubeconfig',
    o.sandbox.kubeconfigFor('recorder'),
  ];
  args.push(...(o.args ?? []));
  if (o.policy !== undefined) {
    const file = join(dataDir, 'policy.json');
    await writeFile(file, JSON.stringify(o.policy));
    args.push('--policy', file);
  }
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...o.env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.once('exit', (code, signal) => r({ code, signal })),
  );
  const port = await new Promise<number>((resolvePort, reject) => {
    child.stderr!.on('data', (c: Buffer) => {
      err += c.toString();
      const m = /listening on [^\s]+:(\d+)/.exec(err);
      if (m) resolvePort(Number(m[1]));
    });
    void exited.then(({ code, signal }) =>
      reject(new Error(`recorder exited (${code ?? signal}) before listening:\n${err}`)),
    );
  });
  const certFlag = args.indexOf('--tls-cert');
  const caPem = await readFile(
    certFlag >= 0 ? args[certFlag + 1]! : join(dataDir, 'tls', 'server.crt'),
    'utf8',
  );
  return {
    url: `https://127.0.0.1:${port}`,
    caPem,
    dataDir,
    pid: child.pid!,
    kill: (signal = 'SIGTERM') => {
      child.kill(signal);
    },
    exited,
    stderr: () => err,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
      if (ownDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
