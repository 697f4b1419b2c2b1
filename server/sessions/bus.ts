// The session events other modules follow: evidence, metrics, the admission params and shim
// ingestion subscribe here instead of chaining hooks. Listeners run synchronously, in the order they
// subscribed, and are never awaited: the stream never waits for a subscriber. A listener that
// throws is logged and the others still run.
import { errorMessage } from '../../common/errors.ts';
import type { BreakGlassUse } from '../../common/siem-event.ts';
import type { SessionRecord, ShimEvent } from '../../common/wire.ts';
import type { RelayOutcome } from './relay.ts';

/** Told when a session runs without the env marker, so the shim can expect an unmarked exec. */
export interface InferredExec {
  session: string;
  containerId: string | undefined;
  node: string | undefined;
  /** ISO-8601, just before the unmarked exec is opened */
  time: string;
}

/** How a started session ended: the relay's outcome, or the step that ended it before any relay. */
export type SessionOutcome =
  | RelayOutcome
  | 'refused-before-relay'
  | 'interrupted-before-relay'
  | 'terminated-before-relay';

export interface SessionEventMap {
  /** The stream was claimed: the session is running (not yet necessarily relaying). */
  started: [session: SessionRecord];
  /** A started session's final state is stored (its recording digest included when it has one). */
  ended: [session: SessionRecord, outcome: SessionOutcome];
  /**
   * A session this replica's recover or takeOver marked interrupted: its recorder (this process's
   * previous run, or a dead replica) never stored its end. Not `ended`: its recording is not this
   * run's to seal or upload (the uploader's start-up pass takes this volume's leftovers). Told on one
   * replica only, the one whose store update marked it.
   */
  interrupted: [session: SessionRecord];
  /** New shim events were stored for sessions that are no longer pending or running. */
  eventsArrived: [sessionIds: string[]];
  /** A session runs without the env marker: the shim should expect an unmarked exec. */
  inferredExec: [hint: InferredExec];
  /** A shim's batch is stored (before it is acked): its events as stored, duplicates included, and
   *  the sessions they name (undefined: no such session). */
  shimEventsStored: [events: readonly ShimEvent[], sessions: ReadonlyMap<string, SessionRecord | undefined>];
  /** The admission webhook let a break-glass group member exec or attach past the recorder. */
  breakGlass: [use: BreakGlassUse];
}

export type SessionEventName = keyof SessionEventMap;
type Listener<K extends SessionEventName> = (...args: SessionEventMap[K]) => void;

export class SessionEvents {
  readonly #listeners: { [K in SessionEventName]: Listener<K>[] } = {
    started: [],
    ended: [],
    interrupted: [],
    eventsArrived: [],
    inferredExec: [],
    shimEventsStored: [],
    breakGlass: [],
  };
  readonly #log: (line: string) => void;

  constructor(options: { log?: (line: string) => void } = {}) {
    this.#log = options.log ?? (() => {});
  }

  /** Returns the function that unsubscribes. */
  on<K extends SessionEventName>(event: K, listener: Listener<K>): () => void {
    const list = this.#listeners[event] as Listener<K>[];
    list.push(listener);
    return () => {
      const at = list.indexOf(listener);
      if (at >= 0) list.splice(at, 1);
    };
  }

  emit<K extends SessionEventName>(event: K, ...args: SessionEventMap[K]): void {
    for (const listener of [...(this.#listeners[event] as Listener<K>[])]) {
      try {
        listener(...args);
      } catch (err) {
        this.#log(`session event ${event}: a subscriber failed: ${errorMessage(err)}`);
      }
    }
  }
}
