// Parser worker threads for the offline tool: jobs go out round-robin, at most `inFlight` per
// worker, and batches come back in job order, so the attribution that reads them is the same as
// a single thread's. A worker that fails or dies fails the run (AuditedExecError
// SHIM_WORKER_FAILED): a batch is never skipped.

import { Worker } from 'node:worker_threads';
import { AuditedExecError, errorMessage } from '../common/errors.ts';
import type { ParseJob, ParseResultBatch } from './parse-job.ts';
import type { WorkerJob, WorkerReply } from './parse-worker.ts';

/** A parser worker's young generation (MiB): it keeps one job at a time. */
const YOUNG_MB = 4;

export interface ParsePoolOptions {
  workers: number;
  /** jobs queued per worker; bounds memory to about workers × inFlight × job size */
  inFlight?: number;
}

// The worker is a .ts file when this one is (node's type stripping, tests), .js when built.
const WORKER = new URL(
  import.meta.url.endsWith('.ts') ? './parse-worker.ts' : './parse-worker.js',
  import.meta.url,
);

export class ParsePool {
  readonly #workers: Worker[];
  readonly #inFlight: number;
  readonly #done = new Map<number, ParseResultBatch>();
  #failure: Error | null = null;
  #wake: (() => void) | null = null;
  #closing = false;

  constructor(options: ParsePoolOptions) {
    this.#inFlight = options.inFlight ?? 2;
    this.#workers = Array.from({ length: options.workers }, (_, i) => this.#start(i));
  }

  /** The batches of `jobs`, in their order. */
  async *batches(jobs: AsyncIterable<ParseJob>): AsyncGenerator<ParseResultBatch> {
    const it = jobs[Symbol.asyncIterator]();
    const cap = this.#workers.length * this.#inFlight;
    let sent = 0;
    let next = 0;
    let more = true;
    try {
      while (true) {
        while (more && sent - next < cap) {
          const j = await it.next();
          if (j.done) more = false;
          else this.#send(sent++, j.value);
        }
        if (!more && next === sent) return;
        yield await this.#result(next++);
      }
    } finally {
      // Stopped early (a failure, or the reader gave up): the input is let go (stdin, a gunzip).
      if (more) await it.return?.();
    }
  }

  async close(): Promise<void> {
    this.#closing = true;
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }

  #send(seq: number, job: ParseJob): void {
    const message: WorkerJob = { seq, job };
    const transfer = job.kind === 'bytes' ? [job.bytes.buffer as ArrayBuffer] : [];
    this.#workers[seq % this.#workers.length]!.postMessage(message, transfer);
  }

  async #result(seq: number): Promise<ParseResultBatch> {
    while (true) {
      if (this.#failure !== null) throw this.#failure;
      const r = this.#done.get(seq);
      if (r !== undefined) {
        this.#done.delete(seq);
        return r;
      }
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }

  #start(i: number): Worker {
    // A small young generation: a job's garbage is freed in a few short scavenges, not held.
    const w = new Worker(WORKER, { resourceLimits: { maxYoungGenerationSizeMb: YOUNG_MB } });
    w.on('message', (reply: WorkerReply) => {
      if ('ok' in reply) this.#done.set(reply.seq, reply.ok);
      else this.#fail(`parser worker ${i} could not read its part of the log: ${reply.error}`);
      this.#notify();
    });
    w.on('error', (err) => this.#fail(`parser worker ${i} failed: ${errorMessage(err) || String(err)}`));
    w.on('exit', (code) => {
      if (!this.#closing) this.#fail(`parser worker ${i} exited (code ${code}) before the log was read`);
    });
    return w;
  }

  #fail(why: string): void {
    this.#failure ??= new AuditedExecError(
      'SHIM_WORKER_FAILED',
      `Attribution stopped: ${why}; the output ends at the last complete line before it. Rerun, or with --workers 0.`,
    );
    this.#notify();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }
}
