// Container id → pod, for shim events that belong to no session (an unrecorded-tty or
// unrecorded-exec alert names a container; an auditor wants the pod) and for checking that a
// session's events come from its own container (session-check.ts), and the exec commands the
// pod's spec declares for that container (exec probes, lifecycle hooks), which the kubelet runs
// through the runtime's exec just as `kubectl exec` does. The node's pods are listed at most once
// per `refreshMs` and only when an id is not known yet; a failure leaves the events without a pod
// (and unfiltered), never blocks them.
import type { KubeClient } from '../kube/client.ts';

export interface PodRef {
  namespace: string;
  pod: string;
}

/** A container of a pod, by the name its spec gives it. */
export interface ContainerRef extends PodRef {
  container: string;
}

interface ExecAction {
  exec?: { command?: string[] };
}

/** The slice of a core/v1 Container that declares commands the kubelet execs. */
export interface ContainerExecSpec {
  name?: string;
  livenessProbe?: ExecAction;
  readinessProbe?: ExecAction;
  startupProbe?: ExecAction;
  lifecycle?: { postStart?: ExecAction; preStop?: ExecAction };
}

interface PodList {
  items?: {
    metadata?: { namespace?: string; name?: string };
    spec?: { containers?: ContainerExecSpec[]; initContainers?: ContainerExecSpec[] };
    status?: {
      containerStatuses?: { name?: string; containerID?: string }[];
      initContainerStatuses?: { name?: string; containerID?: string }[];
      ephemeralContainerStatuses?: { name?: string; containerID?: string }[];
    };
  }[];
}

/** The exec commands a container's spec declares, as the argv the runtime execs (no shell). */
export function declaredExecs(c: ContainerExecSpec | undefined): string[][] {
  if (!c) return [];
  const actions = [
    c.livenessProbe,
    c.readinessProbe,
    c.startupProbe,
    c.lifecycle?.postStart,
    c.lifecycle?.preStop,
  ];
  return actions.flatMap((a) => (a?.exec?.command?.length ? [a.exec.command] : []));
}

export interface PodResolver {
  /** Makes `lookup` able to answer for these ids (lists the node's pods if one is unknown).
   *  `soon`: an id whose answer decides whether an event is kept may list again after a second. */
  prepare(node: string, containerIds: readonly string[], o?: { soon?: boolean }): Promise<void>;
  lookup(containerId: string): PodRef | null;
  /** The pod and container name of this id, when the node's pod list had it. */
  container(containerId: string): ContainerRef | null;
  /** Whether argv is exactly one of the exec probes or lifecycle hooks the container declares. */
  isDeclaredExec(containerId: string, argv: readonly string[]): boolean;
}

const SOON_MS = 1000;

export function createPodResolver(options: {
  kube: KubeClient;
  refreshMs?: number;
  now?: () => number;
}): PodResolver {
  const refreshMs = options.refreshMs ?? 5000;
  const now = options.now ?? Date.now;
  const byContainer = new Map<string, ContainerRef & { declared: string[][] }>();
  const listedAt = new Map<string, number>();
  return {
    async prepare(node, ids, o = {}) {
      if (ids.every((id) => byContainer.has(id))) return;
      if (now() - (listedAt.get(node) ?? 0) < (o.soon ? Math.min(SOON_MS, refreshMs) : refreshMs)) return;
      listedAt.set(node, now());
      try {
        const res = await options.kube.request<PodList>({
          path: `/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${node}`)}`,
          timeoutMs: 5000,
        });
        for (const p of res.body?.items ?? []) {
          const ref = { namespace: p.metadata?.namespace ?? '', pod: p.metadata?.name ?? '' };
          const s = p.status ?? {};
          const specs = [...(p.spec?.containers ?? []), ...(p.spec?.initContainers ?? [])];
          for (const c of [
            ...(s.containerStatuses ?? []),
            ...(s.initContainerStatuses ?? []),
            ...(s.ephemeralContainerStatuses ?? []),
          ]) {
            // "containerd://<id>", "cri-o://<id>", "runc://<id>"
            const id = c.containerID?.replace(/^[a-z-]+:\/\//, '');
            const declared = declaredExecs(specs.find((spec) => spec.name === c.name));
            if (id) byContainer.set(id, { ...ref, container: c.name ?? '', declared });
          }
        }
      } catch {
        // The pod name is an aid for auditors; the event is stored without it.
      }
    },
    lookup(id) {
      const known = byContainer.get(id);
      return known ? { namespace: known.namespace, pod: known.pod } : null;
    },
    container(id) {
      const known = byContainer.get(id);
      return known ? { namespace: known.namespace, pod: known.pod, container: known.container } : null;
    },
    isDeclaredExec(id, argv) {
      const declared = byContainer.get(id)?.declared ?? [];
      return declared.some((d) => d.length === argv.length && d.every((a, i) => a === argv[i]));
    },
  };
}
