// node-debug: `kubectl debug node/NODE` through the recorder. At create the debug pod is created as
// the user (pods.ts), so an RBAC refusal is the POST's own 403 and no stream is ever offered. At
// open the user's WebSocket is accepted at once: the pod may take a while to start, and the user
// sees why on stderr ("waiting for pod … (3s): …"); those lines and kubectl's attach hint are not
// recorded. Once the container runs the recorder attaches as the user, and the relay records
// exactly as for exec; a container that already ended is replayed from its log (logs.ts). Cleanup
// deletes the pod as the recorder, however the session ended, so no privileged pod outlives it.
import { isErrorCode } from '../../../../common/error-codes.ts';
import { AuditedExecError, errorMessage } from '../../../../common/errors.ts';
import { failureStatus } from '../../../../common/status.ts';
import type { SessionRecord } from '../../../../common/wire.ts';
import { codedStatus } from '../../../http/respond.ts';
import type { KubeClient } from '../../../kube/client.ts';
import { DEFAULT_PROFILE } from '../../../policy.ts';
import type { Store } from '../../../store/store.ts';
import {
  type CreateContext,
  type OpenContext,
  type Opened,
  type SessionDriver,
  SessionRefusal,
  SessionStop,
  type SessionTarget,
} from '../../driver.ts';
import { impersonation, sessionImpersonation } from '../../identity.ts';
import type { RelayResult } from '../../relay.ts';
import { apiserverStreams, type StreamOpener } from '../../upstream.ts';
import { containerEnded, replayEndedContainer } from './logs.ts';
import {
  cleanupDebugPods,
  createDebugPod,
  DEFAULT_NODE_DEBUG,
  deleteDebugPod,
  type NodeDebugSettings,
  waitForDebugContainer,
} from './pods.ts';
import { progressLine } from './start.ts';

/** Progress lines go out at most this often (every poll may see a new reason, though). */
const PROGRESS_EVERY_MS = 2000;
/** kubectl attach's hint for a tty: the prompt was printed before anyone was attached. */
const ATTACH_HINT = "If you don't see a command prompt, try pressing enter.";

type ContainerRef = { namespace: string; pod: string; container: string };

export function attachPath(s: ContainerRef & { stdin: boolean; tty: boolean }): string {
  const q = new URLSearchParams({
    container: s.container,
    stdin: String(s.stdin),
    stdout: 'true',
    stderr: String(!s.tty),
    tty: String(s.tty),
  });
  return `/api/v1/namespaces/${encodeURIComponent(s.namespace)}/pods/${encodeURIComponent(s.pod)}/attach?${q}`;
}

export interface NodeDebugDriverOptions {
  kube: KubeClient;
  store: Store;
  /** Defaults: DEFAULT_NODE_DEBUG (pods.ts). */
  settings?: Partial<NodeDebugSettings>;
  log?: (line: string) => void;
  /** Default: streams on the apiserver of `kube`. */
  streams?: StreamOpener;
}

export class NodeDebugDriver implements SessionDriver {
  readonly kind = 'node-debug' as const;
  readonly #kube: KubeClient;
  readonly #store: Store;
  readonly #settings: NodeDebugSettings;
  readonly #log: (line: string) => void;
  readonly #streams: StreamOpener;

  constructor(o: NodeDebugDriverOptions) {
    this.#kube = o.kube;
    this.#store = o.store;
    this.#settings = { ...DEFAULT_NODE_DEBUG, ...o.settings };
    this.#log = o.log ?? (() => {});
    this.#streams = o.streams ?? apiserverStreams(o.kube);
  }

  create({ request, user, id }: CreateContext): Promise<SessionTarget> {
    return createDebugPod({
      kube: this.#kube,
      settings: this.#settings,
      request,
      // The same default the policy judged (policy.ts DEFAULT_PROFILE), so what ran is what was allowed.
      profile: request.profile ?? DEFAULT_PROFILE,
      sessionId: id,
      impersonate: impersonation(user, id),
    });
  }

  async open(c: OpenContext): Promise<Opened> {
    const s = c.session;
    const ref = { namespace: s.namespace!, pod: s.pod!, container: s.container! };
    const user = c.accept();
    const started = await this.#waitForContainer(c, ref);
    const recording = await c.recording(
      `${s.user} node/${s.node}: ${s.command.join(' ') || `${s.image} (default command)`}`,
    );
    const replayLog = (exitCode: number | null, sendStatus: boolean) =>
      replayEndedContainer({
        kube: this.#kube,
        ref,
        impersonate: sessionImpersonation(s),
        auditId: s.id,
        recording,
        user,
        exitCode,
        tty: s.tty,
        sendStatus,
      });
    // Nothing left to attach to: the container's log stands in for its stream, as in kubectl debug.
    if (started.state === 'terminated') return { ended: await replayLog(started.exitCode ?? null, true) };
    const upstream = await this.#streams({
      path: attachPath({ ...ref, stdin: s.stdin, tty: s.tty }),
      impersonate: sessionImpersonation(s),
      auditId: s.id,
      what: 'attach',
    });
    if (!upstream.ok) {
      const { code, message } = upstream.status;
      throw new SessionRefusal(
        'refused',
        codedStatus(
          code ?? 502,
          'SESSION_APISERVER_REFUSED',
          message ?? 'the Kubernetes API refused the attach',
        ),
      );
    }
    if (s.tty) c.tell(ATTACH_HINT);
    return { stream: upstream.ws, settle: (result) => this.#settle(ref, s.id, result, replayLog) };
  }

  /** Deletes the pod as the recorder; failures are logged (start-up recovery is the safety net). */
  async cleanup(session: SessionRecord): Promise<void> {
    if (!session.namespace || !session.pod) return;
    try {
      await deleteDebugPod(this.#kube, { namespace: session.namespace, pod: session.pod }, session.id);
    } catch (err) {
      this.#log(`node-debug: session ${session.id}: ${errorMessage(err)}`);
    }
  }

  /** Terminated: the pod goes at once, so nothing started in it outlives the closed attach. */
  terminate(session: SessionRecord): Promise<void> {
    return this.cleanup(session);
  }

  /** Debug pods a crashed run left behind are privileged and unrecorded: remove them. */
  async recover(): Promise<void> {
    try {
      const pods = await cleanupDebugPods({
        kube: this.#kube,
        store: this.#store,
        namespace: this.#settings.namespace,
      });
      if (pods.length)
        this.#log(`deleted ${pods.length} debug pod(s) left by a previous run: ${pods.join(', ')}`);
    } catch (err) {
      this.#log(`warning: ${errorMessage(err)}`);
    }
  }

  /** Polls the pod until its container runs or ended, telling the user why it waits. */
  async #waitForContainer(c: OpenContext, ref: ContainerRef) {
    const s = c.session;
    const podName = `${ref.namespace}/${ref.pod}`;
    // kubectl debug's "Creating debugging pod …" line, on stderr so it stays out of the recording.
    c.tell(
      `debug pod ${podName} (container ${ref.container}, profile ${s.profile}, image ${s.image}) on node ${s.node}`,
    );
    let lastSaid = Number.NEGATIVE_INFINITY;
    let lastDetail = '';
    try {
      const started = await waitForDebugContainer({
        kube: this.#kube,
        ref,
        auditId: s.id,
        settings: this.#settings,
        signal: c.signal,
        onProgress: (elapsed, detail) => {
          if (elapsed - lastSaid < PROGRESS_EVERY_MS && detail === lastDetail) return;
          lastSaid = elapsed;
          lastDetail = detail;
          c.tell(progressLine(podName, elapsed, detail));
        },
      });
      if (started.containerId) await c.update({ containerId: started.containerId });
      return started;
    } catch (err) {
      throw startFailure(err);
    }
  }

  /** An attach that raced a command's exit forwards only the exit status: the output is in the log. */
  async #settle(
    ref: ContainerRef,
    id: string,
    result: RelayResult,
    replayLog: (exitCode: number | null, sendStatus: boolean) => Promise<RelayResult>,
  ): Promise<RelayResult> {
    if (result.outcome !== 'exited' || result.sawOutput) return result;
    if (!(await containerEnded(this.#kube, ref, id).catch(() => false))) return result;
    return replayLog(result.exitCode ?? null, false);
  }
}

/** Why the container never ran, as the session's end: the user left or the recorder stopped, or the pod failed. */
function startFailure(err: unknown): SessionRefusal {
  if (err instanceof SessionStop) {
    const message =
      err.why === 'client-gone' ? 'the user disconnected before the debug pod started' : err.message;
    return new SessionRefusal('interrupted', failureStatus(500, message));
  }
  const code = err instanceof AuditedExecError && isErrorCode(err.code) ? err.code : 'INTERNAL';
  const http = code === 'NODE_DEBUG_TIMEOUT' ? 504 : 500;
  return new SessionRefusal('refused', codedStatus(http, code, errorMessage(err)));
}
