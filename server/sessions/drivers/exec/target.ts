// Which container a session runs in: the pod as the user sees it (fetched impersonating them, so a
// pod they may not read is a 403/404 before any exec), reduced to container, containerId, node, image.
import { AuditedExecError } from '../../../../common/errors.ts';
import type { Status } from '../../../../common/status.ts';
import type { Impersonation, KubeClient } from '../../../kube/client.ts';
import { apiserverRefusal } from '../../upstream.ts';

interface PodLike {
  metadata?: { annotations?: Record<string, string> };
  spec?: { nodeName?: string; containers?: { name: string; image?: string }[] };
  status?: {
    phase?: string;
    containerStatuses?: { name: string; containerID?: string; imageID?: string; image?: string }[];
  };
}

export interface ExecTarget {
  container: string;
  /** Without the runtime scheme (containerd://): the id the shim sees in cgroup paths. */
  containerId?: string;
  node?: string;
  image?: string;
}

const DEFAULT_CONTAINER = 'kubectl.kubernetes.io/default-container';

/** Pure: the container to exec in, as kubectl chooses it. */
export function resolveTarget(pod: PodLike, name: string, requested?: string): ExecTarget {
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') {
    throw new AuditedExecError(
      'SESSION_POD_COMPLETED',
      `cannot exec into a container in a completed pod; current phase is ${phase}`,
    );
  }
  const containers = pod.spec?.containers ?? [];
  const wanted = requested ?? pod.metadata?.annotations?.[DEFAULT_CONTAINER] ?? containers[0]?.name;
  const spec = containers.find((c) => c.name === wanted);
  if (!wanted || !spec) {
    const names = containers.map((c) => c.name).join(', ') || 'none';
    throw new AuditedExecError(
      'SESSION_NO_CONTAINER',
      `container ${wanted ?? ''} is not valid for pod ${name}; its containers are: ${names}`,
    );
  }
  const status = pod.status?.containerStatuses?.find((c) => c.name === spec.name);
  const containerId = status?.containerID?.replace(/^[a-z0-9-]+:\/\//, '');
  const image = spec.image ?? status?.image;
  return {
    container: spec.name,
    ...(containerId ? { containerId } : {}),
    ...(pod.spec?.nodeName ? { node: pod.spec.nodeName } : {}),
    ...(image ? { image } : {}),
  };
}

/** GETs the pod as the user; the apiserver's refusal is passed on with its own words. */
export async function fetchTarget(options: {
  kube: KubeClient;
  namespace: string;
  pod: string;
  container?: string;
  impersonate: Impersonation;
  auditId: string;
}): Promise<ExecTarget> {
  const { kube, namespace, pod } = options;
  const res = await kube.request<PodLike & Partial<Status>>({
    path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}`,
    impersonate: options.impersonate,
    auditId: options.auditId,
  });
  const refusal = res.body as Partial<Status> | undefined;
  // Said by code (common/error-codes.ts), so no client has to find "pod" in the apiserver's sentence.
  if (res.status === 404) {
    throw new AuditedExecError('POD_NOT_FOUND', refusal?.message ?? `pods "${pod}" not found`);
  }
  if (res.status !== 200 || !res.body) {
    throw apiserverRefusal(res.status, refusal, `pod ${namespace}/${pod}`);
  }
  return resolveTarget(res.body, pod, options.container);
}
