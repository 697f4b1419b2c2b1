// The recorder's periodic jobs (retention, unopened sessions, taking over a dead replica's
// sessions) run once across replicas: each run takes the job's lock from the
// store, and a replica that finds it held skips that run. Runs are counted per job (/metrics), so
// "ran once, not once per replica" can be checked from outside.
import { errorMessage } from '../../common/errors.ts';
import type { JobLock } from '../store/store.ts';

// Late-event sealing is no job: it follows the events a replica stores, and two replicas sealing
// the same link at once are settled by the signature store (EVIDENCE_CHAIN_CONFLICT).
export type JobName = 'retention' | 'unopened-sessions' | 'replica-takeover';

export class Jobs {
  readonly #lock: JobLock;
  readonly #ran: (job: JobName) => void;
  readonly #log: (line: string) => void;

  constructor(o: { lock: JobLock; ran?: (job: JobName) => void; log?: (line: string) => void }) {
    this.#lock = o.lock;
    this.#ran = o.ran ?? (() => {});
    this.#log = o.log ?? (() => {});
  }

  /** Runs `fn` unless another replica is running this job now; undefined when skipped. */
  async run<T>(job: JobName, fn: () => Promise<T>): Promise<T | undefined> {
    const outcome = await this.#lock.exclusive(job, fn);
    if (!outcome.ran) return undefined;
    this.#ran(job);
    return outcome.value;
  }

  /** run(), every `everyMs`, logging failures; stop() ends it. */
  every(job: JobName, everyMs: number, fn: () => Promise<unknown>): { stop(): void } {
    const timer = setInterval(
      () => void this.run(job, fn).catch((err) => this.#log(`${job}: ${errorMessage(err)}`)),
      everyMs,
    ).unref();
    return { stop: () => clearInterval(timer) };
  }
}
