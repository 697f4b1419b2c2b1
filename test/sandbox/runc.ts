// Real containers: each pod container is `runc run` (foreground, so we own its exit code and, for
// tty pods, its console) over an overlay of a cached image root; exec is `runc exec [-t]`, under
// node-pty for a tty so runc allocates the container's own pts and forwards resizes (SIGWINCH).
import { execFile, execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { access, mkdir, readdir, readFile, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AuditedExecError } from '../../common/errors.ts';
import { boundingSetFrom, CGROUP_PARENT, ociConfig } from './oci-spec.ts';
import { type Proc, spawnProc } from './proc.ts';
import { CONTAINER_PATH, ensureImage, type ImageName, resolvesInRoot } from './rootfs.ts';
import {
  type Container,
  type ContainerRuntime,
  type ContainerSpec,
  EXEC_START_FAILED,
  type ExecOptions,
  notFoundMessage,
} from './runtime.ts';

const run = promisify(execFile);

export const RUNC_ROOT = '/run/audited-exec-sandbox/runc';

export interface RuncRuntimeOptions {
  /** per-container bundles, overlay upper/work dirs */
  dir: string;
  runc?: string;
  /** image cache; default under os.tmpdir() */
  imageCache?: string;
}

export async function findRunc(): Promise<string | null> {
  for (const p of ['/usr/sbin/runc', '/usr/bin/runc', '/usr/local/sbin/runc', '/usr/local/bin/runc']) {
    try {
      await access(p);
      return p;
    } catch {}
  }
  return null;
}

/** Containers of this process, for the synchronous last-chance cleanup at process exit. */
const live = new Map<string, { runc: string; bundle: string }>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A test runner that exits without calling stop() must not leave containers and mounts behind.
  process.once('exit', () => {
    for (const [id, { runc, bundle }] of live) {
      try {
        execFileSync(runc, ['--root', RUNC_ROOT, 'delete', '-f', id], { stdio: 'ignore' });
        execFileSync('umount', ['-l', join(bundle, 'rootfs')], { stdio: 'ignore' });
      } catch {}
      rmSync(bundle, { recursive: true, force: true });
    }
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes sandbox containers whose owning process died without cleaning up (SIGKILL, crash). */
export async function reapOrphans(runc: string): Promise<string[]> {
  let list: { id: string; bundle: string }[] = [];
  try {
    const { stdout } = await run(runc, ['--root', RUNC_ROOT, 'list', '--format', 'json']);
    list = (JSON.parse(stdout || 'null') as { id: string; bundle: string }[] | null) ?? [];
  } catch {
    return [];
  }
  const reaped: string[] = [];
  for (const c of list) {
    const owner = Number((await readFile(join(c.bundle, 'owner'), 'utf8').catch(() => '0')).trim());
    if (owner && alive(owner)) continue;
    await run(runc, ['--root', RUNC_ROOT, 'delete', '-f', c.id]).catch(() => {});
    await run('umount', ['-l', join(c.bundle, 'rootfs')]).catch(() => {});
    await rm(c.bundle, { recursive: true, force: true }).catch(() => {});
    reaped.push(c.id);
  }
  return reaped;
}

function imageFor(image: string): ImageName {
  // Anything else (busybox for `kubectl debug node`, ...) gets the bash image: real binaries.
  return image === 'sandbox/noenv' || image.startsWith('sandbox/noenv:') ? 'sandbox/noenv' : 'sandbox/bash';
}

async function waitForFile(path: string, proc: Proc, timeoutMs: number): Promise<void> {
  // runc writes the pid file once the container's process runs; there is no event to await.
  let exited = false;
  void proc.exited.then(() => {
    exited = true;
  });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await stat(path);
      return;
    } catch {}
    if (exited)
      throw new AuditedExecError('SANDBOX_RUNC_START', `runc run exited before the container started`);
    if (Date.now() > deadline)
      throw new AuditedExecError('SANDBOX_RUNC_START', 'runc run did not start in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

export class RuncRuntime implements ContainerRuntime {
  readonly kind = 'runc' as const;
  readonly #dir: string;
  readonly #runc: string;
  readonly #imageCache: string | undefined;
  readonly #containers = new Set<Container>();
  #reaped: Promise<string[]> | null = null;

  constructor(opts: RuncRuntimeOptions) {
    this.#dir = opts.dir;
    this.#runc = opts.runc ?? '/usr/sbin/runc';
    this.#imageCache = opts.imageCache;
  }

  #runcArgs(...args: string[]): string[] {
    return ['--root', RUNC_ROOT, ...args];
  }

  async start(spec: ContainerSpec): Promise<Container> {
    this.#reaped ??= reapOrphans(this.#runc);
    await this.#reaped;
    installExitHook();
    const image = await ensureImage(imageFor(spec.image), this.#imageCache);
    const bundle = join(this.#dir, 'containers', spec.id);
    const rootfs = join(bundle, 'rootfs');
    for (const d of ['upper', 'work', 'rootfs']) await mkdir(join(bundle, d), { recursive: true });
    await writeFile(join(bundle, 'owner'), String(process.pid));
    live.set(spec.id, { runc: this.#runc, bundle });
    const cleanupFs = async (): Promise<void> => {
      await run('umount', ['-l', rootfs]).catch(() => {});
      await rm(bundle, { recursive: true, force: true }).catch(() => {});
      live.delete(spec.id);
    };
    let main: Proc;
    const pidFile = join(bundle, 'pid');
    try {
      await run('mount', [
        '-t',
        'overlay',
        'overlay',
        '-o',
        `lowerdir=${image},upperdir=${join(bundle, 'upper')},workdir=${join(bundle, 'work')}`,
        rootfs,
      ]);
      await mkdir(RUNC_ROOT, { recursive: true });
      await writeFile(
        join(bundle, 'config.json'),
        JSON.stringify(
          ociConfig(spec, rootfs, boundingSetFrom(await readFile('/proc/self/status', 'utf8'))),
          null,
          1,
        ),
      );
      main = spawnProc({
        holdEarlyOutput: true,
        file: this.#runc,
        args: this.#runcArgs('run', '--bundle', bundle, '--pid-file', pidFile, spec.id),
        env: { PATH: process.env.PATH ?? CONTAINER_PATH, TERM: 'xterm' },
        cwd: bundle,
        tty: spec.tty,
      });
      let stderr = '';
      const off = main.onOutput((s, d) => {
        if (s === 'stderr' || spec.tty) stderr = (stderr + d.toString()).slice(-2000);
      });
      await waitForFile(pidFile, main, 15_000).catch((err: Error) => {
        throw new AuditedExecError('SANDBOX_RUNC_START', `${err.message}: ${stderr.trim()}`);
      });
      off();
    } catch (err) {
      await this.#kill(spec.id);
      await run(this.#runc, this.#runcArgs('delete', '-f', spec.id)).catch(() => {});
      await cleanupFs();
      throw err;
    }
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    const execs = new Set<Proc>();
    let destroying: Promise<void> | null = null;
    const container: Container = {
      id: spec.id,
      pid,
      main,
      exec: async (opts: ExecOptions) => {
        const [cmd] = opts.command;
        if (!cmd) throw new AuditedExecError(EXEC_START_FAILED, 'you must specify at least one command');
        // runc's own error would arrive mixed into the output (tty) with exit 255; check first so the
        // failure is the kubelet's channel-3 Status.
        const path = spec.env.PATH ?? CONTAINER_PATH;
        if (!(await resolvesInRoot(rootfs, cmd, path))) {
          throw new AuditedExecError(EXEC_START_FAILED, notFoundMessage(spec.id, cmd));
        }
        const proc = spawnProc({
          file: this.#runc,
          args: this.#runcArgs(
            'exec',
            ...(opts.tty ? ['-t', '--env', 'TERM=xterm'] : []),
            spec.id,
            ...opts.command,
          ),
          env: { PATH: process.env.PATH ?? CONTAINER_PATH },
          cwd: bundle,
          tty: opts.tty,
          ...(opts.size ? { size: opts.size } : {}),
        });
        execs.add(proc);
        void proc.exited.then(() => execs.delete(proc));
        return proc;
      },
      destroy: () => {
        destroying ??= (async () => {
          await this.#kill(spec.id);
          await Promise.race([main.exited, new Promise((r) => setTimeout(r, 5000))]);
          for (const p of execs) p.kill('SIGKILL');
          await run(this.#runc, this.#runcArgs('delete', '-f', spec.id)).catch(() => {});
          await cleanupFs();
          this.#containers.delete(container);
        })();
        return destroying;
      },
    };
    this.#containers.add(container);
    return container;
  }

  async #kill(id: string): Promise<void> {
    await run(this.#runc, this.#runcArgs('kill', '--all', id, 'KILL')).catch(() => {});
  }

  async close(): Promise<void> {
    await Promise.all([...this.#containers].map((c) => c.destroy()));
    await removeEmptyCgroupParents();
  }
}

/** rmdir /sys/fs/cgroup/<controller>/audited-exec-sandbox where empty (other sandboxes may share it). */
export async function removeEmptyCgroupParents(): Promise<void> {
  const base = '/sys/fs/cgroup';
  let controllers: string[] = [];
  try {
    controllers = await readdir(base);
  } catch {
    return;
  }
  for (const c of ['', ...controllers]) {
    await rmdir(join(base, c, CGROUP_PARENT)).catch(() => {});
  }
}
