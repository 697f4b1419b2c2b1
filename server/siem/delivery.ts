// One sink's delivery loop: read a batch from its spool cursor, send it, advance the cursor only
// once the sink acknowledged; on failure wait (exponential back-off with jitter) and send the same
// batch again. It runs beside the sessions, never in their path. A sink that starts failing is
// logged once, and once more when it delivers again (never once per retry).
import { errorMessage } from '../../common/errors.ts';
import type { SiemSink } from './sink.ts';
import type { Spool } from './spool.ts';

export interface DeliveryOptions {
  sink: SiemSink;
  spool: Spool;
  /** Most events per batch. */
  batch: number;
  /** The first retry waits about this long, doubling up to retryMaxMs. */
  retryMinMs?: number;
  retryMaxMs: number;
  log: (line: string) => void;
  /** 0..1; default Math.random */
  random?: () => number;
  /** default Date.now */
  now?: () => number;
}

/** The wait before retry number `attempt` (1 for the first): doubling from min to max, then
 *  "equal jitter" (half fixed, half random), so many recorders do not retry in step. */
export function retryDelay(attempt: number, o: { minMs: number; maxMs: number; random: number }): number {
  const ceiling = Math.min(o.maxMs, o.minMs * 2 ** Math.min(attempt - 1, 30));
  return ceiling / 2 + (ceiling / 2) * o.random;
}

export class Delivery {
  /** Events the sink acknowledged; delivery attempts that failed. */
  readonly figures = { delivered: 0, failures: 0 };
  readonly #o: Required<DeliveryOptions>;
  #stopped = false;
  #wake: (() => void) | undefined;
  #running: Promise<void> | undefined;
  #unsubscribe: (() => void) | undefined;
  readonly #abort = new AbortController();
  /** While the sink fails: since when and how many attempts (logged once it recovers). */
  #failing: { since: number; attempts: number } | undefined;

  constructor(options: DeliveryOptions) {
    this.#o = { retryMinMs: 500, random: Math.random, now: Date.now, ...options };
  }

  get name(): string {
    return this.#o.sink.name;
  }

  /** Whether the sink's latest attempt failed. */
  get failing(): boolean {
    return this.#failing !== undefined;
  }

  start(): void {
    this.#unsubscribe = this.#o.spool.onAppend(() => this.#wake?.());
    this.#running = this.#loop().catch((err) =>
      this.#o.log(`siem: sink ${this.name} stopped: ${errorMessage(err)}`),
    );
  }

  /** Stops, aborting the attempt under way (its batch stays in the spool for the next start). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#unsubscribe?.();
    this.#abort.abort();
    this.#wake?.();
    await this.#running;
  }

  async #loop(): Promise<void> {
    const { spool, sink } = this.#o;
    while (!this.#stopped) {
      const from = spool.cursor(sink.name);
      const { lines, next } = await spool.read(from, this.#o.batch);
      if (lines.length === 0) {
        // Spooled but unreadable now (a segment file that cannot be read): try again shortly.
        if (spool.backlog(sink.name) > 0) await this.#sleep(this.#o.retryMinMs);
        else await this.#idle(() => spool.backlog(sink.name) > 0);
        continue;
      }
      try {
        await sink.send(lines, this.#abort.signal);
      } catch (err) {
        if (this.#stopped) break;
        this.figures.failures++;
        const attempt = this.#failed(err, spool.backlog(sink.name));
        await this.#sleep(
          retryDelay(attempt, {
            minMs: this.#o.retryMinMs,
            maxMs: this.#o.retryMaxMs,
            random: this.#o.random(),
          }),
        );
        continue;
      }
      spool.commit(sink.name, next);
      this.figures.delivered += lines.length;
      this.#recovered(spool.backlog(sink.name));
    }
  }

  #failed(err: unknown, backlog: number): number {
    if (this.#failing) return ++this.#failing.attempts;
    this.#failing = { since: this.#o.now(), attempts: 1 };
    this.#o.log(
      `siem: sink ${this.name} is failing: ${errorMessage(err)}; retrying with back-off, ${backlog} event(s) wait in the spool`,
    );
    return 1;
  }

  #recovered(backlog: number): void {
    if (!this.#failing) return;
    const seconds = Math.round((this.#o.now() - this.#failing.since) / 1000);
    this.#o.log(
      `siem: sink ${this.name} delivers again after ${this.#failing.attempts} failed attempt(s) over ${seconds} s; ${backlog} event(s) still to send`,
    );
    this.#failing = undefined;
  }

  /** Resolves on the next append (or stop) unless `ready` already holds. */
  #idle(ready: () => boolean): Promise<void> {
    if (ready() || this.#stopped) return Promise.resolve();
    return new Promise((resolve) => {
      this.#wake = () => {
        this.#wake = undefined;
        resolve();
      };
    });
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      // Only a stop cuts a back-off short; new events wait for the next try like the others.
      this.#wake = () => {
        if (this.#stopped) done();
      };
    });
  }
}
