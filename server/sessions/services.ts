// What the session routes need, passed in once by main/app wiring.
import type { Status } from '../../common/status.ts';
import type { SessionAccess } from '../auth/session-access.ts';
import type { KubeClient } from '../kube/client.ts';
import type { Policy } from '../policy.ts';
import type { Jobs } from '../replicas/jobs.ts';
import type { RecordingFiles } from '../storage/recording-files.ts';
import type { Store } from '../store/store.ts';
import type { SessionEvents } from './bus.ts';
import type { NodeDebugSettings } from './drivers/node-debug/pods.ts';

export interface SessionServices {
  kube: KubeClient;
  store: Store;
  policy: Policy;
  /** Who may see or act on a session, and SubjectAccessReview for the rest (one cache). */
  access: SessionAccess;
  dataDir: string;
  /** This replica's id (--replica-id), stored on the sessions it records. */
  replica?: string;
  /** Periodic work that runs once across replicas (replicas/jobs.ts). */
  jobs?: Jobs;
  /** Recordings as local files wherever they were recorded; default: this data dir only. */
  recordings?: RecordingFiles;
  streamTimeoutMs: number;
  clock: () => Date;
  /** The recorder's own username as the apiserver sees it (impersonator), when known. */
  impersonator: () => Promise<string | undefined>;
  live: LiveSessions;
  /** Session events other modules follow (evidence, metrics, admission params, shim ingestion). */
  events: SessionEvents;
  /** node-debug sessions: debug namespace, default image, pod start timeout (defaults in drivers/node-debug/pods.ts). */
  nodeDebug?: Partial<NodeDebugSettings>;
  /** Operational log lines (e.g. a debug pod that could not be deleted). */
  log?: (line: string) => void;
  /** Groups never impersonated besides system:masters (auth/impersonation.ts). */
  impersonationDeniedGroups?: readonly string[];
  /**
   * The admission policy's params (admission/session-params.ts): publishes the store's open
   * sessions; awaited before each request that carries a session marker through admission.
   */
  admissionParams?: { publish(): Promise<boolean> };
}

/** How a moderator's termination reaches a live session: a recording marker and the user's status. */
export interface Ending {
  marker: string;
  status: Status;
}

/** What shutdown and termination need from a live session: its relay, or the session still opening. */
export interface Stoppable {
  stop(message: string): void;
  terminate(ending: Ending): void;
}

/** Sessions with an open stream in this process, so shutdown (and a moderator) can end them with a message. */
export class LiveSessions {
  readonly #live = new Map<string, { relay: Stoppable; finished: Promise<unknown> }>();
  readonly #finishing = new Set<Promise<unknown>>();

  get size(): number {
    return this.#live.size;
  }

  /** `finished` resolves once the session is stored as ended/interrupted. */
  add(id: string, relay: Stoppable, finished: Promise<unknown>): void {
    const tracked = finished.finally(() => {
      this.#live.delete(id);
      this.#finishing.delete(tracked);
    });
    this.#live.set(id, { relay, finished: tracked });
    this.#finishing.add(tracked);
  }

  has(id: string): boolean {
    return this.#live.has(id);
  }

  /** Ends a session live here at a moderator's request; resolves once it is stored (false: not live here). */
  async terminate(id: string, ending: Ending): Promise<boolean> {
    const live = this.#live.get(id);
    if (!live) return false;
    live.relay.terminate(ending);
    await live.finished;
    return true;
  }

  /** Resolves once no session is live, or after `timeoutMs` (true: none is live). */
  async idle(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.#finishing.size > 0) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise((r) => {
        timer = setTimeout(r, left);
      });
      await Promise.race([Promise.allSettled([...this.#finishing]), timeout]);
      clearTimeout(timer);
    }
    return true;
  }

  /** Ends every live session with `message` and waits until each one is stored. */
  async stopAll(message: string): Promise<void> {
    for (const { relay } of this.#live.values()) relay.stop(message);
    await Promise.allSettled([...this.#finishing]);
  }
}
