// Pods: the store objects plus their containers. Creating a pod stores it Pending, starts one runtime
// container per spec container, then moves it to Running; a main process exit moves it to
// Succeeded/Failed; deleting kills the containers and removes the object.
import { randomBytes } from 'node:crypto';
import { AuditedExecError, errorMessage } from '../../common/errors.ts';
import { type ProbedContainer, Prober } from './probes.ts';
import type { Container, ContainerRuntime, ContainerSpec, Mount } from './runtime.ts';
import type { KubeObject, ObjectStore } from './store.ts';

// The slice of a V1Pod the sandbox reads; everything else is stored as given.
interface PodContainer extends ProbedContainer {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string }[];
  workingDir?: string;
  stdin?: boolean;
  tty?: boolean;
  securityContext?: { privileged?: boolean };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}

interface PodSpec {
  nodeName?: string;
  hostPID?: boolean;
  containers: PodContainer[];
  volumes?: { name: string; hostPath?: { path: string } }[];
  restartPolicy?: string;
}

export interface PodObject extends KubeObject {
  spec: PodSpec;
  status?: Record<string, unknown>;
}

export interface PodManagerOptions {
  store: ObjectStore;
  runtime: ContainerRuntime;
  nodeName: string;
  hostIP: string;
}

const LOG_LIMIT = 256 * 1024;

export function newContainerId(): string {
  return randomBytes(32).toString('hex');
}

function isoNow(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

/** The argv of a container's main process, as the kubelet would run it for our images. */
export function mainCommand(c: PodContainer): string[] {
  const argv = [...(c.command ?? []), ...(c.args ?? [])];
  if (argv.length) return argv;
  return c.stdin || c.tty ? ['bash'] : ['sleep', 'infinity'];
}

export function containerSpecFor(pod: PodObject, c: PodContainer, id: string): ContainerSpec {
  const volumes = new Map((pod.spec.volumes ?? []).map((v) => [v.name, v]));
  const mounts: Mount[] = [];
  for (const vm of c.volumeMounts ?? []) {
    const hostPath = volumes.get(vm.name)?.hostPath?.path;
    if (hostPath)
      mounts.push({ hostPath, containerPath: vm.mountPath, ...(vm.readOnly ? { readOnly: true } : {}) });
  }
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
  return {
    id,
    podName: pod.metadata.name,
    namespace: pod.metadata.namespace ?? 'default',
    image: c.image ?? 'sandbox/bash',
    command: mainCommand(c),
    env,
    ...(c.workingDir ? { workingDir: c.workingDir } : {}),
    tty: c.tty === true,
    stdin: c.stdin === true,
    hostPID: pod.spec.hostPID === true,
    privileged: c.securityContext?.privileged === true,
    mounts,
  };
}

export class PodManager {
  readonly #o: PodManagerOptions;
  /** `${ns}/${pod}` → container name → container */
  readonly #containers = new Map<string, Map<string, Container>>();
  readonly #starting = new Map<string, Promise<void>>();
  /** `${ns}/${pod}/${container}` → the main process's recent output, for pods/log */
  readonly #logs = new Map<string, Buffer[]>();
  /** `${ns}/${pod}/${container}` → its exec probes and hooks, run as the kubelet does */
  readonly #probers = new Map<string, Prober>();

  constructor(opts: PodManagerOptions) {
    this.#o = opts;
  }

  /** Validates and stores the pod (Pending); its containers start in the background. */
  create(namespace: string, input: PodObject): { pod: PodObject; started: Promise<void> } {
    const pod = structuredClone(input);
    pod.apiVersion = 'v1';
    pod.kind = 'Pod';
    pod.metadata ??= { name: '' };
    pod.metadata.namespace = namespace;
    if (!pod.metadata.name && typeof pod.metadata.generateName === 'string') {
      pod.metadata.name = pod.metadata.generateName + randomBytes(3).toString('hex').slice(0, 5);
    }
    if (!pod.metadata.name)
      throw new AuditedExecError(
        'SANDBOX_INVALID',
        'Pod "" is invalid: metadata.name: Required value: name or generateName is required',
      );
    if (!pod.spec?.containers?.length) {
      throw new AuditedExecError(
        'SANDBOX_INVALID',
        `Pod "${pod.metadata.name}" is invalid: spec.containers: Required value`,
      );
    }
    if (this.#o.store.get('pods', namespace, pod.metadata.name)) {
      throw new AuditedExecError('SANDBOX_EXISTS', `pods "${pod.metadata.name}" already exists`);
    }
    pod.spec.nodeName ??= this.#o.nodeName;
    pod.spec.restartPolicy ??= 'Always';
    pod.status = {
      phase: 'Pending',
      conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: isoNow() }],
      hostIP: this.#o.hostIP,
      qosClass: 'BestEffort',
    };
    const stored = this.#o.store.put('pods', pod) as PodObject;
    const started = this.#start(stored);
    this.#starting.set(`${namespace}/${stored.metadata.name}`, started);
    return { pod: stored, started };
  }

  async #start(pod: PodObject): Promise<void> {
    const ns = pod.metadata.namespace!;
    const key = `${ns}/${pod.metadata.name}`;
    const running = new Map<string, Container>();
    this.#containers.set(key, running);
    const statuses: Record<string, unknown>[] = [];
    try {
      for (const c of pod.spec.containers) {
        const container = await this.#o.runtime.start(containerSpecFor(pod, c, newContainerId()));
        running.set(c.name, container);
        const log: Buffer[] = [];
        this.#logs.set(`${key}/${c.name}`, log);
        let logBytes = 0;
        container.main.onOutput(
          (_s, d) => {
            log.push(d);
            logBytes += d.length;
            while (log.length > 1 && logBytes > LOG_LIMIT) logBytes -= log.shift()!.length;
          },
          { fromStart: true },
        );
        void container.main.exited.then((code) => {
          this.#probers.get(`${key}/${c.name}`)?.stop();
          this.#onMainExit(ns, pod.metadata.name, c.name, code);
        });
        statuses.push({
          name: c.name,
          image: c.image ?? 'sandbox/bash',
          imageID: `sandbox://${c.image ?? 'sandbox/bash'}`,
          containerID: `${this.#o.runtime.kind === 'runc' ? 'runc' : 'pty'}://${container.id}`,
          ready: true,
          started: true,
          restartCount: 0,
          state: { running: { startedAt: isoNow() } },
        });
      }
    } catch (err) {
      this.#o.store.update('pods', ns, pod.metadata.name, (p) => {
        p.status = {
          ...(p.status as object),
          phase: 'Failed',
          reason: 'StartError',
          message: errorMessage(err),
        };
      });
      throw err;
    }
    const now = isoNow();
    this.#o.store.update('pods', ns, pod.metadata.name, (p) => {
      p.status = {
        ...(p.status as object),
        phase: 'Running',
        podIP: this.#o.hostIP,
        podIPs: [{ ip: this.#o.hostIP }],
        startTime: now,
        conditions: ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'].map((type) => ({
          type,
          status: 'True',
          lastTransitionTime: now,
        })),
        containerStatuses: statuses,
      };
    });
    for (const c of pod.spec.containers) {
      const container = running.get(c.name);
      if (container && this.#containers.get(key) === running)
        this.#probers.set(`${key}/${c.name}`, new Prober(container, c));
    }
  }

  #onMainExit(ns: string, podName: string, containerName: string, code: number): void {
    this.#o.store.update('pods', ns, podName, (p) => {
      const status = p.status as { containerStatuses?: Record<string, unknown>[]; phase?: string };
      const cs = status.containerStatuses?.find((s) => s.name === containerName);
      if (!cs) return;
      cs.ready = false;
      cs.started = false;
      const startedAt = (cs.state as { running?: { startedAt?: string } }).running?.startedAt;
      cs.state = {
        terminated: {
          exitCode: code,
          reason: code === 0 ? 'Completed' : 'Error',
          startedAt,
          finishedAt: isoNow(),
          containerID: cs.containerID,
        },
      };
      if (status.containerStatuses?.every((s) => 'terminated' in (s.state as object))) {
        const failed = status.containerStatuses.some(
          (s) => (s.state as { terminated: { exitCode: number } }).terminated.exitCode !== 0,
        );
        status.phase = failed ? 'Failed' : 'Succeeded';
      }
    });
  }

  /** Resolves once the pod is Running; rejects if it failed to start. */
  async waitStarted(namespace: string, name: string): Promise<void> {
    await this.#starting.get(`${namespace}/${name}`);
  }

  /** The main process's output (last 256 KiB), or undefined for an unknown container. */
  logs(namespace: string, pod: string, containerName?: string): Buffer | undefined {
    const spec = this.#o.store.get('pods', namespace, pod)?.spec as PodSpec | undefined;
    const log = this.#logs.get(`${namespace}/${pod}/${containerName ?? spec?.containers[0]?.name}`);
    return log ? Buffer.concat(log) : undefined;
  }

  container(namespace: string, pod: string, containerName?: string): Container | undefined {
    const cs = this.#containers.get(`${namespace}/${pod}`);
    if (!cs) return undefined;
    if (containerName) return cs.get(containerName);
    return cs.values().next().value;
  }

  /** Kills the pod's containers and removes it; returns the deleted object. */
  async delete(namespace: string, name: string): Promise<PodObject | undefined> {
    const key = `${namespace}/${name}`;
    await this.#starting.get(key)?.catch(() => {});
    const cs = this.#containers.get(key);
    this.#containers.delete(key);
    this.#starting.delete(key);
    for (const k of this.#logs.keys()) if (k.startsWith(`${key}/`)) this.#logs.delete(k);
    this.#stopProbers(`${key}/`);
    await Promise.all([...(cs?.values() ?? [])].map((c) => c.destroy()));
    return this.#o.store.delete('pods', namespace, name) as PodObject | undefined;
  }

  #stopProbers(prefix: string): void {
    for (const [k, prober] of this.#probers) {
      if (!k.startsWith(prefix)) continue;
      prober.stop();
      this.#probers.delete(k);
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#starting.values()]);
    this.#stopProbers('');
    const all = [...this.#containers.values()].flatMap((m) => [...m.values()]);
    this.#containers.clear();
    await Promise.all(all.map((c) => c.destroy()));
  }
}
