// Debug-node pods on the apiserver: create as the user (so their RBAC decides, and the audit log shows
// them with auditID = session id), wait for the container, delete, and clean up after a crashed run.
// Creation and attach impersonate the user; status reads and deletion use the recorder's own identity,
// so a user without get/delete rights cannot leave a privileged pod behind.
import { randomInt } from 'node:crypto';
import { AuditedExecError } from '../../../../common/errors.ts';
import { SESSION_LABEL } from '../../../../common/session-marker.ts';
import type { Status } from '../../../../common/status.ts';
import type { DebugProfile, SessionCreateRequest, SessionState } from '../../../../common/wire.ts';
import { HttpError } from '../../../http/respond.ts';
import type { Impersonation, KubeClient } from '../../../kube/client.ts';
import type { Store } from '../../../store/store.ts';
import { apiserverRefusal } from '../../upstream.ts';
import { DEBUG_CONTAINER, DEBUG_POD_SELECTOR, nodeDebugPod, randomSuffix } from './pod-spec.ts';
import { containerStart, type PodLike, type StartState, timeoutMessage } from './start.ts';

export interface NodeDebugSettings {
  /** Where debug pods are created (the user needs create pods + pods/attach there). */
  namespace: string;
  /** Image when the request names none (kubectl requires --image; we default it). */
  image: string;
  /** How long the container may take to start before the session is refused. */
  podTimeoutMs: number;
  /** How often the pod is polled while waiting (progress lines go out at the same pace). */
  pollMs: number;
}

export const DEFAULT_NODE_DEBUG: NodeDebugSettings = {
  namespace: 'audited-exec-debug',
  image: 'busybox:1.36',
  podTimeoutMs: 120_000,
  pollMs: 500,
};

export interface DebugPodRef {
  namespace: string;
  pod: string;
  container: string;
  node: string;
  image: string;
  profile: DebugProfile;
}

const podsPath = (ns: string) => `/api/v1/namespaces/${encodeURIComponent(ns)}/pods`;
const podPath = (ns: string, name: string) => `${podsPath(ns)}/${encodeURIComponent(name)}`;

/** POSTs the debug pod as the user. A name collision (1 in 27^5) is retried once with a new suffix. */
export async function createDebugPod(o: {
  kube: KubeClient;
  settings: NodeDebugSettings;
  request: SessionCreateRequest;
  profile: DebugProfile;
  sessionId: string;
  impersonate: Impersonation;
}): Promise<DebugPodRef> {
  const { kube, settings, request } = o;
  const node = request.node!;
  const image = request.image ?? settings.image;
  const ns = settings.namespace;
  for (let attempt = 0; ; attempt++) {
    const body = nodeDebugPod({
      node,
      image,
      profile: o.profile,
      sessionId: o.sessionId,
      user: o.impersonate.user,
      namespace: ns,
      command: request.command,
      stdin: request.stdin,
      tty: request.tty,
      suffix: randomSuffix(randomInt),
      ...(request.reason ? { reason: request.reason } : {}),
      ...(request.ticket ? { ticket: request.ticket } : {}),
    });
    const res = await kube.request<PodLike & Partial<Status>>({
      method: 'POST',
      path: podsPath(ns),
      body,
      impersonate: o.impersonate,
      auditId: o.sessionId,
    });
    if (res.status === 201 || res.status === 200) {
      return {
        namespace: ns,
        pod: body.metadata.name,
        container: DEBUG_CONTAINER,
        node,
        image,
        profile: o.profile,
      };
    }
    if (res.status === 409 && attempt === 0) continue;
    const refusal = apiserverRefusal(res.status, res.body, `pod ${ns}/${body.metadata.name}`);
    throw new HttpError(
      refusal.status,
      'SESSION_DEBUG_POD_REFUSED',
      `cannot create the debug pod in namespace ${ns}: ${refusal.message}`,
      refusal.reason ? { reason: refusal.reason } : {},
    );
  }
}

/** Deletes as the recorder; a pod already gone is fine. */
export async function deleteDebugPod(
  kube: KubeClient,
  ref: { namespace: string; pod: string },
  auditId: string,
) {
  const res = await kube.request({ method: 'DELETE', path: podPath(ref.namespace, ref.pod), auditId });
  if (res.status >= 300 && res.status !== 404) {
    throw new AuditedExecError(
      'NODE_DEBUG_DELETE',
      `cannot delete debug pod ${ref.namespace}/${ref.pod} (HTTP ${res.status}): ${res.text.slice(0, 200)}`,
    );
  }
}

/**
 * Polls the pod (as the recorder) until its container runs or has already terminated. Rejects with a
 * user-facing sentence on timeout, when the pod disappears, or when `signal` aborts.
 */
export async function waitForDebugContainer(o: {
  kube: KubeClient;
  ref: { namespace: string; pod: string; container: string };
  auditId: string;
  settings: Pick<NodeDebugSettings, 'podTimeoutMs' | 'pollMs'>;
  signal: AbortSignal;
  onProgress: (elapsedMs: number, detail: string) => void;
}): Promise<Exclude<StartState, { state: 'waiting' }>> {
  const started = Date.now();
  let detail = 'pod not yet scheduled';
  for (;;) {
    if (o.signal.aborted) throw o.signal.reason;
    const res = await o.kube.request<PodLike>({
      path: podPath(o.ref.namespace, o.ref.pod),
      auditId: o.auditId,
    });
    if (res.status === 404) {
      throw new AuditedExecError(
        'NODE_DEBUG_POD_GONE',
        `the debug pod ${o.ref.pod} was deleted before it started`,
      );
    }
    if (res.status === 200 && res.body) {
      const s = containerStart(res.body, o.ref.container);
      if (s.state !== 'waiting') return s;
      detail = s.detail;
    } else {
      const message = (res.body as { message?: string } | undefined)?.message ?? res.text.slice(0, 200);
      detail = `the recorder cannot read the pod (HTTP ${res.status}): ${message}`;
    }
    const elapsed = Date.now() - started;
    if (elapsed >= o.settings.podTimeoutMs) {
      throw new AuditedExecError('NODE_DEBUG_TIMEOUT', timeoutMessage(o.settings.podTimeoutMs, detail));
    }
    o.onProgress(elapsed, detail);
    await delay(Math.min(o.settings.pollMs, o.settings.podTimeoutMs - elapsed), o.signal);
  }
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(done, ms);
    function done() {
      signal.removeEventListener('abort', aborted);
      resolve();
    }
    function aborted() {
      clearTimeout(t);
      reject(signal.reason);
    }
    signal.addEventListener('abort', aborted, { once: true });
  });
}

const LIVE: SessionState[] = ['pending', 'running'];

/**
 * Start-up: deletes debug pods whose session is not live in the store (a crashed run left them; the
 * store already marked those sessions interrupted). Returns the pods deleted.
 */
export async function cleanupDebugPods(o: {
  kube: KubeClient;
  store: Store;
  namespace: string;
}): Promise<string[]> {
  const q = new URLSearchParams({ labelSelector: DEBUG_POD_SELECTOR });
  const res = await o.kube.request<{
    items?: (PodLike & { metadata?: { labels?: Record<string, string> } })[];
  }>({
    path: `${podsPath(o.namespace)}?${q}`,
    // Start-up waits for this: an unreachable apiserver must not hold the recorder for long.
    timeoutMs: 5000,
  });
  if (res.status !== 200) {
    throw new AuditedExecError(
      'NODE_DEBUG_CLEANUP',
      `cannot list debug pods in ${o.namespace} (HTTP ${res.status}); leftover debug pods were not removed`,
    );
  }
  const deleted: string[] = [];
  for (const pod of res.body?.items ?? []) {
    const name = pod.metadata?.name;
    const session = pod.metadata?.labels?.[SESSION_LABEL];
    if (!name || !session) continue;
    const record = await o.store.getSession(session);
    if (record && LIVE.includes(record.state)) continue;
    await deleteDebugPod(o.kube, { namespace: o.namespace, pod: name }, session);
    deleted.push(name);
  }
  return deleted;
}
