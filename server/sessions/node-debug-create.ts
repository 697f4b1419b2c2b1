// The node-debug half of POST /api/v1/sessions: the debug pod is created here, as the user, so an
// RBAC refusal is the POST's own 403 and no session stream is ever offered. The pod then waits for the
// stream; one that is never opened is deleted when the stream timeout passes.
import { errorMessage } from '../../common/errors.ts';
import type { SessionCreateRequest, SessionRecord } from '../../common/wire.ts';
import type { UserInfo } from '../auth/user.ts';
import { DEFAULT_PROFILE } from '../policy.ts';
import { impersonation } from './create.ts';
import {
  createDebugPod,
  DEFAULT_NODE_DEBUG,
  type DebugPodRef,
  deleteDebugPod,
  type NodeDebugSettings,
} from './node-debug.ts';
import type { SessionServices } from './services.ts';

export function nodeDebugSettings(services: Pick<SessionServices, 'nodeDebug'>): NodeDebugSettings {
  return { ...DEFAULT_NODE_DEBUG, ...services.nodeDebug };
}

/** What the session record gets from its debug pod (namespace, pod, container, node, image, profile). */
export type NodeDebugTarget = DebugPodRef;

export async function createNodeDebugTarget(
  services: SessionServices,
  request: SessionCreateRequest,
  user: UserInfo,
  id: string,
): Promise<NodeDebugTarget> {
  return createDebugPod({
    kube: services.kube,
    settings: nodeDebugSettings(services),
    request,
    // The same default the policy judged (policy.ts DEFAULT_PROFILE), so what ran is what was allowed.
    profile: request.profile ?? DEFAULT_PROFILE,
    sessionId: id,
    impersonate: impersonation(user, id),
  });
}

/** Deletes the pod as the recorder; failures are logged (start-up cleanup is the safety net). */
export async function removeDebugPod(
  services: SessionServices,
  ref: { namespace?: string | undefined; pod?: string | undefined },
  id: string,
): Promise<void> {
  if (!ref.namespace || !ref.pod) return;
  try {
    await deleteDebugPod(services.kube, { namespace: ref.namespace, pod: ref.pod }, id);
  } catch (err) {
    services.log?.(`node-debug: session ${id}: ${errorMessage(err)}`);
  }
}

/**
 * A stream that is never opened leaves a privileged pod running: once the stream timeout has passed,
 * a session still pending is refused and its pod deleted. `delayMs` defaults to the time left.
 */
export function deleteIfNeverOpened(
  services: SessionServices,
  record: Pick<SessionRecord, 'id' | 'startedAt' | 'namespace' | 'pod'>,
): void {
  const left = Date.parse(record.startedAt) + services.streamTimeoutMs - services.clock().getTime();
  const timer = setTimeout(() => {
    void (async () => {
      const now = services.clock().toISOString();
      const error = `the stream was not opened within ${services.streamTimeoutMs / 1000} s of creating the session`;
      const won = await services.store
        .transitionSession(record.id, 'pending', { state: 'refused', error, endedAt: now })
        .catch(() => false);
      // Also when the stream handler refused it first (it does not know about pods).
      const s = won ? undefined : await services.store.getSession(record.id).catch(() => undefined);
      if (won || s?.state === 'refused') await removeDebugPod(services, record, record.id);
    })();
  }, Math.max(0, left) + 100);
  timer.unref();
}
