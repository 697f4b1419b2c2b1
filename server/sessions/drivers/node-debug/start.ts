// Whether a debug pod's container has started, read from the pod object. Pure, so the progress and
// timeout wording is tested without a cluster. Mirrors kubectl debug's waitForContainer: running or
// terminated ends the wait; a waiting message is what the user is shown meanwhile.

interface ContainerState {
  running?: object;
  terminated?: { exitCode?: number; reason?: string; message?: string };
  waiting?: { reason?: string; message?: string };
}

export interface PodLike {
  metadata?: { name?: string };
  status?: {
    phase?: string;
    reason?: string;
    message?: string;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
    containerStatuses?: { name: string; containerID?: string; state?: ContainerState }[];
  };
}

export type StartState =
  | { state: 'running'; containerId?: string }
  | { state: 'terminated'; containerId?: string; detail: string; exitCode?: number }
  | { state: 'waiting'; detail: string };

export function containerStart(pod: PodLike, container: string): StartState {
  const status = pod.status ?? {};
  const cs = status.containerStatuses?.find((c) => c.name === container);
  const containerId = cs?.containerID?.replace(/^[a-z0-9-]+:\/\//, '');
  const id = containerId ? { containerId } : {};
  if (cs?.state?.running) return { state: 'running', ...id };
  if (cs?.state?.terminated) {
    const t = cs.state.terminated;
    const detail = `container ${container} terminated (${t.reason ?? `exit code ${t.exitCode ?? '?'}`})`;
    return {
      state: 'terminated',
      ...id,
      detail,
      ...(t.exitCode !== undefined ? { exitCode: t.exitCode } : {}),
    };
  }
  if (status.phase === 'Failed' || status.phase === 'Succeeded') {
    return {
      state: 'terminated',
      ...id,
      detail: `pod ${status.phase}${status.reason ? `: ${status.reason}` : ''}${status.message ? ` ${status.message}` : ''}`,
    };
  }
  return { state: 'waiting', detail: waitingDetail(pod, container) };
}

/** The most specific reason the pod is not running yet, as one phrase. */
export function waitingDetail(pod: PodLike, container: string): string {
  const status = pod.status ?? {};
  const waiting = status.containerStatuses?.find((c) => c.name === container)?.state?.waiting;
  if (waiting?.reason || waiting?.message) {
    return `container ${container} waiting: ${[waiting.reason, waiting.message].filter(Boolean).join(': ')}`;
  }
  const unmet = status.conditions?.find((c) => c.status === 'False' && (c.reason || c.message));
  if (unmet) return `${unmet.type}: ${[unmet.reason, unmet.message].filter(Boolean).join(': ')}`;
  if (status.reason || status.message) return [status.reason, status.message].filter(Boolean).join(': ');
  return `pod phase ${status.phase ?? 'unknown'}`;
}

/** The line shown on the user's stderr while waiting (never recorded). */
export function progressLine(pod: string, elapsedMs: number, detail: string): string {
  return `waiting for pod ${pod} to start (${Math.round(elapsedMs / 1000)}s): ${detail}…`;
}

export function timeoutMessage(timeoutMs: number, detail: string): string {
  return `the debug pod did not start within ${Math.round(timeoutMs / 1000)}s: ${detail}`;
}
