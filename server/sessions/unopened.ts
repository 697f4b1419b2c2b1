// The one timer that ends sessions whose stream was never opened (a plugin killed between the POST
// and the stream): otherwise they would stay `pending` until a restart, and a node-debug session's
// privileged pod would keep running. It wakes at the deadline of the earliest session created here,
// and at least once per stream timeout for sessions created elsewhere (a previous run, another
// replica): the store is the truth, not this process's memory.
import { errorMessage } from '../../common/errors.ts';
import type { SessionRecord } from '../../common/wire.ts';
import type { SessionServices } from './services.ts';

export const NEVER_OPENED = 'the stream was never opened';
/** Past the stream timeout, so a stream opened at the last moment is claimed by its handler, not swept. */
const MARGIN_MS = 1000;
/** Wakes this much after a deadline, so the session is past the sweep's cut-off. */
const LATE_MS = 50;

export interface UnopenedOptions
  extends Pick<SessionServices, 'store' | 'clock' | 'streamTimeoutMs' | 'jobs'> {
  /** Runs for each session this ended (its driver's cleanup). */
  ended: (session: SessionRecord) => Promise<void>;
  log: (line: string) => void;
}

export class UnopenedSessions {
  readonly #o: UnopenedOptions;
  #timer: NodeJS.Timeout | null = null;
  #due = Number.POSITIVE_INFINITY;
  #running = false;

  constructor(o: UnopenedOptions) {
    this.#o = o;
  }

  start(): void {
    this.#running = true;
    this.#arm(Date.now() + this.#o.streamTimeoutMs);
  }

  close(): void {
    this.#running = false;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** A session was created here: be awake when its stream timeout has passed. */
  expect(session: Pick<SessionRecord, 'startedAt'>): void {
    const due = Date.parse(session.startedAt) + this.#o.streamTimeoutMs + MARGIN_MS + LATE_MS;
    if (this.#running && due < this.#due) this.#arm(due);
  }

  /** Ends every session still pending past the stream timeout; returns how many. */
  async sweep(): Promise<number> {
    const { store, clock } = this.#o;
    const now = clock();
    const until = new Date(now.getTime() - this.#o.streamTimeoutMs - MARGIN_MS).toISOString();
    let swept = 0;
    let page: string | undefined;
    do {
      const list = await store.listSessions({
        state: 'pending',
        until,
        limit: 500,
        ...(page ? { continue: page } : {}),
      });
      for (const s of list.items) {
        const patch = { state: 'interrupted' as const, error: NEVER_OPENED, endedAt: now.toISOString() };
        if (!(await store.transitionSession(s.id, 'pending', patch))) continue;
        swept++;
        await this.#o.ended({ ...s, ...patch });
      }
      page = list.continue;
    } while (page);
    return swept;
  }

  #arm(due: number): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#due = due;
    this.#timer = setTimeout(() => void this.#wake(), Math.max(0, due - Date.now())).unref();
  }

  async #wake(): Promise<void> {
    this.#timer = null;
    this.#due = Number.POSITIVE_INFINITY;
    try {
      // Once across replicas: the others skip a sweep that one of them is running.
      const jobs = this.#o.jobs;
      const n = jobs ? await jobs.run('unopened-sessions', () => this.sweep()) : await this.sweep();
      if (n) this.#o.log(`ended ${n} session(s) whose stream was never opened`);
    } catch (err) {
      this.#o.log(`pending-session sweep failed: ${errorMessage(err)}`);
    }
    if (this.#running && !this.#timer) this.#arm(Date.now() + this.#o.streamTimeoutMs);
  }
}
