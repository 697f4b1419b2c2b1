// Session updates the database could not take because its disk was full. A session's final state
// is the one write that must never be lost (a session left `running` looks like one still open), so
// a write that fails with "database or disk is full" is kept here, merged per session, shown to
// readers as if stored, and retried in the background with backoff until the disk has room again.
// Only this process holds them: if it dies first, the next start marks the session interrupted.
import type { SessionRecord } from '../../common/wire.ts';

/** SQLITE_FULL ("database or disk is full") and SQLITE_IOERR (a write the disk refused). */
export function isDiskFull(err: unknown): boolean {
  const code = (err as { errcode?: unknown })?.errcode;
  return typeof code === 'number' && ((code & 0xff) === 13 || (code & 0xff) === 10);
}

export type SessionPatch = Partial<Omit<SessionRecord, 'id'>>;

export interface PendingWritesOptions {
  /** Stores one session's merged patch; throws when it still cannot. */
  apply(id: string, patch: SessionPatch): void;
  /** True for errors worth retrying later (disk full, I/O); others are logged and dropped. */
  retryable(err: unknown): boolean;
  log: (line: string) => void;
  /** first retry delay; doubles up to maxDelayMs */
  initialDelayMs: number;
  maxDelayMs: number;
}

export class PendingWrites {
  readonly #o: PendingWritesOptions;
  readonly #patches = new Map<string, SessionPatch>();
  #delay: number;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: Partial<PendingWritesOptions> & Pick<PendingWritesOptions, 'apply' | 'retryable'>) {
    this.#o = { log: () => {}, initialDelayMs: 200, maxDelayMs: 10_000, ...options };
    this.#delay = this.#o.initialDelayMs;
  }

  get size(): number {
    return this.#patches.size;
  }

  has(id: string): boolean {
    return this.#patches.has(id);
  }

  /** Keeps `patch` (merged over an earlier one for the same session) and schedules a retry. */
  add(id: string, patch: SessionPatch): void {
    this.#patches.set(id, { ...this.#patches.get(id), ...patch });
    this.#schedule();
  }

  /** The record as readers should see it: stored fields with the pending ones on top. */
  overlay<T extends SessionRecord | undefined>(record: T): T {
    if (!record) return record;
    const patch = this.#patches.get(record.id);
    return patch ? { ...record, ...patch } : record;
  }

  /** Tries every pending write now; returns how many are still pending. */
  flush(): number {
    for (const [id, patch] of [...this.#patches]) {
      try {
        this.#o.apply(id, patch);
      } catch (err) {
        // Still full: keep this one and the rest for the next try, in order.
        if (this.#o.retryable(err)) break;
        this.#o.log(`store: dropped an update of session ${id} that cannot be stored: ${String(err)}`);
      }
      this.#patches.delete(id);
    }
    if (this.#patches.size === 0) this.#delay = this.#o.initialDelayMs;
    return this.#patches.size;
  }

  #schedule(): void {
    if (this.#timer || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const before = this.#patches.size;
      const left = this.flush();
      if (left === 0) {
        this.#o.log(`store: stored ${before} session update(s) held back while the disk was full`);
        return;
      }
      this.#delay = Math.min(this.#delay * 2, this.#o.maxDelayMs);
      this.#schedule();
    }, this.#delay);
    this.#timer.unref();
  }

  /** Stops retrying; returns the ids whose updates were never stored. */
  close(): string[] {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    return [...this.#patches.keys()];
  }
}
