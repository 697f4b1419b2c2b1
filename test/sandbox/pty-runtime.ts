// Degraded runtime for machines without root or runc: each "container" is a plain host process in
// a temp directory, exec spawns host processes (node-pty for tty). No isolation, no cgroup, no
// container devpts: enough for protocol-level tests, clearly reported as degraded at start.
import { mkdir, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { AuditedExecError } from '../../common/errors.ts';
import { type Proc, spawnProc } from './proc.ts';
import { binariesFor, CONTAINER_PATH, type ImageName, resolvesInRoot } from './rootfs.ts';
import {
  type Container,
  type ContainerRuntime,
  type ContainerSpec,
  EXEC_START_FAILED,
  type ExecOptions,
  notFoundMessage,
} from './runtime.ts';

export interface PtyRuntimeOptions {
  /** where per-container directories go */
  dir: string;
}

async function whichOnHost(name: string): Promise<string | null> {
  for (const d of CONTAINER_PATH.split(':')) {
    if (await resolvesInRoot('/', join(d, name), '')) return join(d, name);
  }
  return null;
}

export class PtyRuntime implements ContainerRuntime {
  readonly kind = 'pty' as const;
  readonly #dir: string;
  readonly #containers = new Set<Container>();

  constructor(opts: PtyRuntimeOptions) {
    this.#dir = opts.dir;
  }

  async start(spec: ContainerSpec): Promise<Container> {
    const root = join(this.#dir, 'containers', spec.id);
    const bin = join(root, 'bin');
    await mkdir(bin, { recursive: true });
    // The "image": a bin dir of links to host binaries, so a missing `env` is really missing.
    const image: ImageName = spec.image === 'sandbox/noenv' ? 'sandbox/noenv' : 'sandbox/bash';
    for (const name of [...binariesFor(image), 'sh']) {
      const host = await whichOnHost(name);
      if (host) await symlink(host, join(bin, name));
    }
    const env = { ...spec.env, PATH: bin, HOME: root, HOSTNAME: spec.podName, TERM: 'xterm' };
    const resolve = async (cmd: string): Promise<string> => {
      if (cmd.includes('/') || (await resolvesInRoot(bin, cmd, '/')))
        return cmd.includes('/') ? cmd : join(bin, cmd);
      throw new AuditedExecError(EXEC_START_FAILED, notFoundMessage(spec.id, cmd));
    };
    const [file, ...args] = spec.command;
    const main = spawnProc({
      holdEarlyOutput: true,
      file: await resolve(file!),
      args,
      env,
      cwd: root,
      tty: spec.tty,
    });
    const execs = new Set<Proc>();
    let destroyed = false;
    const container: Container = {
      id: spec.id,
      pid: main.pid,
      main,
      exec: async (opts: ExecOptions) => {
        const [cmd, ...rest] = opts.command;
        if (!cmd)
          throw new AuditedExecError(
            EXEC_START_FAILED,
            'you must specify at least one command for the container',
          );
        const proc = spawnProc({
          file: await resolve(cmd),
          args: rest,
          env,
          cwd: root,
          tty: opts.tty,
          ...(opts.size ? { size: opts.size } : {}),
        });
        execs.add(proc);
        void proc.exited.then(() => execs.delete(proc));
        return proc;
      },
      destroy: async () => {
        if (destroyed) return;
        destroyed = true;
        for (const p of [...execs, main]) p.kill('SIGKILL');
        await Promise.all([...execs, main].map((p) => p.exited));
        await rm(root, { recursive: true, force: true });
        this.#containers.delete(container);
      },
    };
    this.#containers.add(container);
    return container;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#containers].map((c) => c.destroy()));
  }
}
