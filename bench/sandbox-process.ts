// Starts bench/sandbox-child.ts and describes the sandbox it runs.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface SandboxProcess {
  url: string;
  caPem: string;
  tokens: Record<string, string>;
  nodeName: string;
  containerId: string;
  /** projected-style service-account token for the shim on this node */
  shimToken: string;
  pid: number;
  kubeconfigFor(user: string): string;
  stop(): Promise<void>;
}

/** runtime 'pty': pods are plain host processes (no runc), for loads runc cannot carry on 2 cores. */
export async function spawnSandbox(o: { runtime?: 'auto' | 'pty' } = {}): Promise<SandboxProcess> {
  const child = spawn(process.execPath, [`${import.meta.dirname}/sandbox-child.ts`, o.runtime ?? 'auto'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const first = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', resolve);
    void exited.then(() => reject(new Error('the sandbox process exited before it was ready')));
  });
  const info = JSON.parse(first) as Omit<SandboxProcess, 'kubeconfigFor' | 'stop' | 'pid'> & {
    kubeconfigs: Record<string, string>;
  };
  return {
    ...info,
    pid: child.pid!,
    kubeconfigFor: (user) => info.kubeconfigs[user]!,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}
