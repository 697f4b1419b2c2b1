// Container id → pod, for shim events that belong to no session (an unrecorded-tty alert names a
// container; an auditor wants the pod). The node's pods are listed at most once per `refreshMs`
// and only when an id is not known yet; a failure leaves the events without a pod, never blocks them.
import type { KubeClient } from '../kube/client.ts';

export interface PodRef {
  namespace: string;
  pod: string;
}

interface PodList {
  items?: {
    metadata?: { namespace?: string; name?: string };
    status?: {
      containerStatuses?: { containerID?: string }[];
      initContainerStatuses?: { containerID?: string }[];
      ephemeralContainerStatuses?: { containerID?: string }[];
    };
  }[];
}

export interface PodResolver {
  /** Makes `lookup` able to answer for these ids (lists the node's pods if one is unknown). */
  prepare(node: string, containerIds: readonly string[]): Promise<void>;
  lookup(containerId: string): PodRef | null;
}

export function createPodResolver(options: {
  kube: KubeClient;
  refreshMs?: number;
  now?: () => number;
}): PodResolver {
  const refreshMs = options.refreshMs ?? 5000;
  const now = options.now ?? Date.now;
  const byContainer = new Map<string, PodRef>();
  const listedAt = new Map<string, number>();
  return {
    async prepare(node, ids) {
      if (ids.every((id) => byContainer.has(id))) return;
      if (now() - (listedAt.get(node) ?? 0) < refreshMs) return;
      listedAt.set(node, now());
      try {
        const res = await options.kube.request<PodList>({
          path: `/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${node}`)}`,
          timeoutMs: 5000,
        });
        for (const p of res.body?.items ?? []) {
          const ref = { namespace: p.metadata?.namespace ?? '', pod: p.metadata?.name ?? '' };
          const s = p.status ?? {};
          for (const c of [
            ...(s.containerStatuses ?? []),
            ...(s.initContainerStatuses ?? []),
            ...(s.ephemeralContainerStatuses ?? []),
          ]) {
            // "containerd://<id>", "cri-o://<id>", "runc://<id>"
            const id = c.containerID?.replace(/^[a-z-]+:\/\//, '');
            if (id) byContainer.set(id, ref);
          }
        }
      } catch {
        // The pod name is an aid for auditors; the event is stored without it.
      }
    },
    lookup: (id) => byContainer.get(id) ?? null,
  };
}
