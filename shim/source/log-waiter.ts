// How the file tailer waits for auditd to write more. While the log is busy (lines read within
// busyMs) it polls every settleMs with no watcher: fs.watch raises an event per auditd write,
// thousands a second in an exec storm, which cost more than the polls. Once quiet it watches the
// log's directory and sleeps until an event, but no less than settleMs after going idle (auditd
// writes an exec's records in several writes), or until the poll interval passes.

import { type FSWatcher, watch } from 'node:fs';

export interface LogWaiterOptions {
  /** the directory to watch */
  dir: string;
  pollMs: number;
  settleMs: number;
  busyMs: number;
}

export class LogWaiter {
  readonly #opts: LogWaiterOptions;
  #watcher: FSWatcher | null = null;
  #wake: (() => void) | null = null;
  #busyAt = 0;
  #closed = false;

  constructor(options: LogWaiterOptions) {
    this.#opts = options;
  }

  /** The reader got lines just now. */
  busy(): void {
    this.#busyAt = Date.now();
  }

  /** Arms the watcher; false when it cannot be (polling alone still works). */
  watch(): boolean {
    if (this.#watcher !== null || this.#closed) return this.#watcher !== null;
    try {
      this.#watcher = watch(this.#opts.dir, () => this.#wake?.());
      return true;
    } catch {
      return false;
    }
  }

  sleep(): Promise<void> {
    const start = Date.now();
    const { settleMs, pollMs, busyMs } = this.#opts;
    let wait = pollMs;
    if (start - this.#busyAt < busyMs) {
      this.#unwatch();
      wait = settleMs;
    } else if (this.#watcher === null && this.watch()) {
      wait = settleMs; // armed just now: a write since the last read raised no event
    }
    return new Promise((resolve) => {
      let timer = setTimeout(done, wait);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = () => {
        this.#wake = null;
        const left = settleMs - (Date.now() - start);
        if (left <= 0 || this.#closed) return done();
        clearTimeout(timer);
        timer = setTimeout(done, left);
      };
    });
  }

  /** Stops watching and ends the current sleep at once. */
  close(): void {
    this.#closed = true;
    this.#unwatch();
    this.#wake?.();
  }

  #unwatch(): void {
    this.#watcher?.close();
    this.#watcher = null;
  }
}
