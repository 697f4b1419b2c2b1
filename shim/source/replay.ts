// A log source over fixture lines or a file, for tests and for replaying an archived log through
// the daemon's path. Optionally waits between lines to mimic a live log.

import { readFile } from 'node:fs/promises';
import type { LogSource } from './log-source.ts';

export interface ReplayOptions {
  /** lines, or a file to split on \n */
  lines?: readonly string[];
  file?: string;
  /** pause between lines, in ms (0: as fast as the consumer takes them) */
  delayMs?: number;
}

export class FixtureReplayer implements LogSource {
  readonly #opts: ReplayOptions;
  #closed = false;

  constructor(options: ReplayOptions) {
    this.#opts = options;
  }

  async *lines(): AsyncGenerator<string> {
    const lines = this.#opts.lines ?? (await readFile(this.#opts.file!, 'utf8')).split('\n');
    for (const line of lines) {
      if (this.#closed) return;
      if (this.#opts.delayMs) await new Promise((r) => setTimeout(r, this.#opts.delayMs));
      yield line;
    }
  }

  close(): void {
    this.#closed = true;
  }
}
