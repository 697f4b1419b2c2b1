// Job locks for an engine one process owns (the embedded SQLite store): held in this process,
// keyed by the database they guard, so two store objects on one data directory (a test, a tool
// beside the recorder in one process) still run a job once at a time.
import type { JobLock } from './store.ts';

/** "<database>\0<job>" of every job running in this process. */
const running = new Set<string>();

export class ProcessJobLock implements JobLock {
  readonly #database: string;

  /** `database` names what the locks guard (the database file's path). */
  constructor(database: string) {
    this.#database = database;
  }

  async exclusive<T>(name: string, fn: () => Promise<T>): Promise<{ ran: true; value: T } | { ran: false }> {
    const key = `${this.#database}\0${name}`;
    if (running.has(key)) return { ran: false };
    running.add(key);
    try {
      return { ran: true, value: await fn() };
    } finally {
      running.delete(key);
    }
  }
}
