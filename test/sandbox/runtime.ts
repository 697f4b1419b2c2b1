// The contract between the pod store and a container runtime (runc.ts, pty-runtime.ts).
import type { TerminalSize } from '../../common/channel.ts';
import type { Proc } from './proc.ts';

export interface Mount {
  hostPath: string;
  containerPath: string;
  readOnly?: boolean;
}

export interface ContainerSpec {
  /** 64-hex, also the runc container id and the last segment of the cgroup path */
  id: string;
  podName: string;
  namespace: string;
  image: string;
  /** the main process argv */
  command: string[];
  env: Record<string, string>;
  workingDir?: string;
  tty: boolean;
  stdin: boolean;
  hostPID: boolean;
  privileged: boolean;
  mounts: Mount[];
}

export interface ExecOptions {
  command: string[];
  tty: boolean;
  stdin: boolean;
  size?: TerminalSize;
}

export interface Container {
  readonly id: string;
  /** host pid of the container's main process */
  readonly pid: number;
  /** the main process (attach talks to it) */
  readonly main: Proc;
  /** Starts a process inside the container; throws AuditedExecError(EXEC_START_FAILED) when the command cannot start. */
  exec(opts: ExecOptions): Promise<Proc>;
  /** Kills everything in the container and releases its resources. Idempotent. */
  destroy(): Promise<void>;
}

export interface ContainerRuntime {
  readonly kind: 'runc' | 'pty';
  start(spec: ContainerSpec): Promise<Container>;
  /** Destroys every container this runtime started. */
  close(): Promise<void>;
}

/** AuditedExecError code of a command that could not start (missing binary): channel-3 InternalError. */
export const EXEC_START_FAILED = 'SANDBOX_EXEC_START';

export function notFoundMessage(containerId: string, command: string): string {
  // containerd wraps runc's error this way; kubelet puts it in the channel-3 Status (InternalError).
  const why = command.includes('/')
    ? `stat ${command}: no such file or directory`
    : 'executable file not found in $PATH';
  return (
    `failed to exec in container: failed to start exec "${containerId}": OCI runtime exec failed: exec failed: ` +
    `unable to start container process: exec: "${command}": ${why}: unknown`
  );
}
