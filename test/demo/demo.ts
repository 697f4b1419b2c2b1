// The whole product on one machine, for a first look: the sandbox cluster (real runc containers when
// root), the recorder against it, and, when auditd runs, the node shim with the project's audit
// rules loaded under a key of the demo's own. stop() undoes everything start() did, in reverse.
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, createWriteStream } from 'node:fs';
import { chmod, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { delimiter, join, resolve } from 'node:path';
import { AuditedExecError } from '../../common/errors.ts';
import { createRecorder, type Recorder } from '../../server/app.ts';
import { parseSettings } from '../../server/config.ts';
import { type Sandbox, startSandbox } from '../sandbox/index.ts';
import { loadAuditRules } from '../support/audit-rules.ts';
import { KUBECTL } from '../support/prereq.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const AUDIT_LOG = '/var/log/audit/audit.log';
const RULES_KEY = 'audited-exec-demo';
/** The pod the printed kubectl line opens a shell in (test/sandbox/seed.ts). */
export const DEMO_POD = 'web';

export interface DemoOptions {
  /** where everything goes: sandbox, recorder data, shim state, logs, the bin dir */
  dir: string;
  /** the recorder's flags (e.g. --listen); --kubeconfig, --data-dir and --debug-namespace are the demo's */
  recorderArgs: string[];
  /** progress lines while starting */
  say: (line: string) => void;
}

export interface Demo {
  recorder: Recorder;
  sandbox: Sandbox;
  /** opens the UI signed in as `auditor`, once */
  signInUrl: string;
  /** the line a user pastes for a recorded shell in pod default/web */
  kubectlLine: string;
  /** why commands will not be attributed (no shim), or null when the shim runs */
  noShim: string | null;
  dir: string;
  stop(): Promise<void>;
}

export async function startDemo(o: DemoOptions): Promise<Demo> {
  const undo: (() => Promise<void> | void)[] = [];
  const stop = async () => {
    for (const step of undo.reverse()) await Promise.resolve(step()).catch(() => {});
    undo.length = 0;
  };
  try {
    await mkdir(o.dir, { recursive: true });
    o.say('starting the sandbox cluster…');
    const sandbox = await startSandbox({ dir: join(o.dir, 'sandbox'), log: logTo(o.dir, 'sandbox.log') });
    undo.push(() => sandbox.stop());
    o.say(
      `  runtime: ${sandbox.runtime === 'runc' ? 'runc containers' : 'plain processes (not root or no runc)'}`,
    );

    o.say('starting the recorder…');
    const dataDir = join(o.dir, 'recorder');
    const settings = parseSettings(
      [
        process.execPath,
        'demo',
        '--listen',
        '127.0.0.1:8443',
        ...o.recorderArgs,
        '--kubeconfig',
        sandbox.kubeconfigFor('recorder'),
        '--data-dir',
        dataDir,
        '--debug-namespace',
        'audited-exec',
      ],
      process.env,
    );
    const recorder = await createRecorder(settings, { log: logTo(o.dir, 'recorder.log') }).catch((err) => {
      throw listenHint(err, settings.host, settings.port);
    });
    undo.push(() => recorder.close('the demo is stopping'));
    const caFile = join(dataDir, 'tls', 'server.crt');
    // How a cluster admin points the plugin at the recorder (deploy/app/plugin-config.yaml).
    sandbox.putConfigMap('audited-exec', 'audited-exec-plugin', {
      server: recorder.url,
      'ca.crt': await readFile(caFile, 'utf8'),
    });

    const noShim = shimUnavailable();
    if (noShim) o.say(`no node shim: ${noShim}`);
    else {
      o.say('loading the audit rules and starting the node shim…');
      const removeRules = loadAuditRules(RULES_KEY);
      undo.push(removeRules);
      const shim = await startShim({ dir: o.dir, url: recorder.url, caFile, sandbox });
      undo.push(() => stopChild(shim));
    }

    const bin = await pluginBin(o.dir);
    const signInUrl = `${recorder.url}${recorder.modules.ui.links.issue(sandbox.tokens.auditor!)}`;
    return {
      recorder,
      sandbox,
      signInUrl,
      kubectlLine: `PATH=${bin}${delimiter}$PATH KUBECONFIG=${sandbox.kubeconfigPath} kubectl audited-exec ${DEMO_POD} -it -- bash`,
      noShim,
      dir: o.dir,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Why the shim cannot run here, or null. */
function shimUnavailable(): string | null {
  if (process.getuid?.() !== 0)
    return 'not running as root (auditd needs root); commands will not be attributed';
  try {
    accessSync(AUDIT_LOG, constants.R_OK);
  } catch {
    return `auditd is not running (${AUDIT_LOG} is missing); commands will not be attributed`;
  }
  return null;
}

async function startShim(o: {
  dir: string;
  url: string;
  caFile: string;
  sandbox: Sandbox;
}): Promise<ChildProcess> {
  const log = createWriteStream(join(o.dir, 'shim.log'));
  const child = spawn(
    process.execPath,
    [
      join(ROOT, 'shim/main.ts'),
      'run',
      `--server=${o.url}`,
      `--ca-file=${o.caFile}`,
      `--token-file=${o.sandbox.shimTokenFile}`,
      `--node=${o.sandbox.nodeName}`,
      `--audit-log=${AUDIT_LOG}`,
      `--state-dir=${join(o.dir, 'shim')}`,
      '--max-backoff=1000',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let seen = '';
  await new Promise<void>((done, fail) => {
    const deadline = setTimeout(
      () =>
        fail(
          new AuditedExecError('DEMO_SHIM', `the node shim did not connect in 60 s; see ${o.dir}/shim.log`),
        ),
      60_000,
    );
    child.stderr!.on('data', (chunk: Buffer) => {
      log.write(chunk);
      seen += chunk.toString();
      if (seen.includes('"msg":"connected to recorder"')) {
        clearTimeout(deadline);
        seen = '';
        done();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(deadline);
      fail(new AuditedExecError('DEMO_SHIM', `the node shim exited (${code}); see ${o.dir}/shim.log`));
    });
  });
  return child;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((done) => child.once('exit', done));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** A folder to put first on PATH: the plugin from source (run by this Node, whatever the shell's
 *  `node` is) and a kubectl when the machine has none on PATH. */
async function pluginBin(dir: string): Promise<string> {
  const bin = join(dir, 'bin');
  await mkdir(bin, { recursive: true });
  const plugin = join(bin, 'kubectl-audited_exec');
  await writeFile(plugin, `#!/bin/sh\nexec '${process.execPath}' '${join(ROOT, 'plugin/main.ts')}' "$@"\n`);
  await chmod(plugin, 0o755);
  if (!onPath('kubectl')) await symlink(KUBECTL, join(bin, 'kubectl')).catch(() => {});
  return bin;
}

function onPath(name: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((d) => {
    try {
      accessSync(join(d, name), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function logTo(dir: string, name: string): (line: string) => void {
  const out = createWriteStream(join(dir, name), { flags: 'a' });
  return (line) => out.write(`${line}\n`);
}

function listenHint(err: unknown, host: string, port: number): unknown {
  if ((err as { code?: string }).code !== 'EADDRINUSE') return err;
  return new AuditedExecError(
    'DEMO_PORT_IN_USE',
    `${host}:${port} is in use (another recorder or demo?); pass --listen 127.0.0.1:PORT`,
  );
}

/** Removes what the demo leaves once stopped, except the recorder's data (sessions, recordings). */
export async function tidy(dir: string): Promise<void> {
  await rm(join(dir, 'sandbox'), { recursive: true, force: true });
}
