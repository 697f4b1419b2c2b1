// The kubelet's exec probes and postStart hooks, as the sandbox runs them: through the runtime's exec
// (`runc exec`, no tty, no stdin), with the declared argv and no shell, so the node's audit log shows
// exactly what a real node shows for them. postStart runs once after the container starts; each of
// liveness/readiness/startup every periodSeconds (default 10) after initialDelaySeconds, killed
// after timeoutSeconds (default 1). Results are counted, not acted on: the sandbox never restarts a
// container whose liveness probe fails. preStop hooks are not run.
import type { Container } from './runtime.ts';

export interface ExecAction {
  exec?: { command?: string[] };
}

export interface Probe extends ExecAction {
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
}

export interface ProbedContainer {
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  lifecycle?: { postStart?: ExecAction; preStop?: ExecAction };
}

export interface ProbeCounts {
  /** execs the prober started (hooks and probes) */
  runs: number;
  /** of those, the ones that exited 0 */
  succeeded: number;
}

/** Runs the container's exec hooks and probes until stop(). */
export class Prober {
  readonly #container: Container;
  readonly #timers = new Set<NodeJS.Timeout>();
  #stopped = false;
  readonly counts: ProbeCounts = { runs: 0, succeeded: 0 };

  constructor(container: Container, spec: ProbedContainer) {
    this.#container = container;
    const postStart = spec.lifecycle?.postStart?.exec?.command;
    if (postStart?.length) void this.#run(postStart, 30);
    for (const probe of [spec.startupProbe, spec.livenessProbe, spec.readinessProbe]) {
      const command = probe?.exec?.command;
      if (!probe || !command?.length) continue;
      const period = Math.max(1, probe.periodSeconds ?? 10) * 1000;
      const timeout = Math.max(1, probe.timeoutSeconds ?? 1);
      const tick = (): void => {
        this.#schedule(period, tick);
        void this.#run(command, timeout);
      };
      this.#schedule((probe.initialDelaySeconds ?? 0) * 1000, tick);
    }
  }

  stop(): void {
    this.#stopped = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }

  #schedule(ms: number, fn: () => void): void {
    if (this.#stopped) return;
    const t = setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, ms);
    t.unref();
    this.#timers.add(t);
  }

  async #run(command: string[], timeoutSeconds: number): Promise<void> {
    if (this.#stopped) return;
    this.counts.runs++;
    try {
      const proc = await this.#container.exec({ command, tty: false, stdin: false });
      proc.endStdin();
      proc.onOutput(() => {});
      const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutSeconds * 1000);
      const code = await proc.exited;
      clearTimeout(timer);
      if (code === 0) this.counts.succeeded++;
    } catch {
      // a command that cannot start is a failed probe, as for the kubelet
    }
  }
}
