// The shim's core as one object: lines in, attributed execs and alerts out, through parser →
// assembler → exec-event → process table → attribution. The offline tool and the daemon both wrap
// it; neither knows the stages. No I/O except through the ProcSource it is given.

import { EventAssembler } from './assembler.ts';
import { type AttributedOutput, Attributor, type ExpectedExec } from './attribution.ts';
import { interpretEvent } from './exec-event.ts';
import { type AuditLineError, type AuditRecord, parseAuditLine } from './parser.ts';
import { ProcessTable, type SavedProcess } from './process-table.ts';
import type { ProcSource } from './procfs.ts';

export interface PipelineStats {
  lines: number;
  records: number;
  events: number;
  badLines: number;
  lateRecords: number;
  execs: number;
  failedExecs: number;
  forks: number;
  alerts: number;
  processes: number;
}

export interface PipelineOptions {
  emit: (output: AttributedOutput) => void;
  proc?: ProcSource | null;
  /** lineNo counts every line given to line(), from 1 */
  onBadLine?: (lineNo: number, error: AuditLineError, line: string) => void;
  onLate?: (record: AuditRecord) => void;
  /** events between process-table sweeps */
  sweepEvery?: number;
  assembler?: { timeoutMs?: number; lagRecords?: number; maxOpen?: number };
  table?: { maxEntries?: number; idleMs?: number };
  inferWindowMs?: number;
}

export class Pipeline {
  readonly #assembler: EventAssembler;
  readonly #attributor: Attributor;
  readonly #table: ProcessTable;
  readonly #opts: PipelineOptions;
  readonly #sweepEvery: number;
  #lines = 0;
  #bad = 0;
  #execs = 0;
  #failed = 0;
  #forks = 0;
  #alerts = 0;
  #sinceSweep = 0;

  constructor(options: PipelineOptions) {
    this.#opts = options;
    this.#sweepEvery = options.sweepEvery ?? 20_000;
    const proc = options.proc ?? null;
    this.#table = new ProcessTable({ proc, ...options.table });
    this.#attributor = new Attributor({
      table: this.#table,
      proc,
      inferWindowMs: options.inferWindowMs,
      emit: (out) => {
        if (out.kind === 'exec') this.#execs++;
        else this.#alerts++;
        options.emit(out);
      },
    });
    this.#assembler = new EventAssembler({
      ...options.assembler,
      onLate: options.onLate,
      onEvent: (event) => {
        const p = interpretEvent(event);
        if (p === null) return;
        if (p.kind === 'fork') this.#forks++;
        else if (!p.success) this.#failed++;
        this.#attributor.handle(p);
        if (++this.#sinceSweep >= this.#sweepEvery) {
          this.#sinceSweep = 0;
          this.#table.sweep(event.timeMs);
        }
      },
    });
  }

  /** Feeds one line; returns its audit serial, or -1 for a line that is not a record. */
  line(text: string): number {
    this.#lines++;
    const r = parseAuditLine(text);
    if (r.kind === 'error') {
      if (r.code === 'empty') return -1;
      this.#bad++;
      this.#opts.onBadLine?.(this.#lines, r, text);
      return -1;
    }
    this.#assembler.push(r);
    return r.serial;
  }

  /** Serials of events still being assembled: their lines must be read again after a restart. */
  openSerials(): number[] {
    return this.#assembler.openSerials();
  }

  snapshot(): SavedProcess[] {
    return this.#table.snapshot();
  }

  restore(saved: readonly SavedProcess[]): void {
    this.#table.restore(saved);
  }

  /** Emits events idle for longer than the assembler timeout at audit time nowMs. */
  expireBefore(nowMs: number): void {
    this.#assembler.expireBefore(nowMs);
  }

  flush(): void {
    this.#assembler.flush();
  }

  expectExec(hint: ExpectedExec): void {
    this.#attributor.expectExec(hint);
  }

  get stats(): PipelineStats {
    const a = this.#assembler.stats;
    return {
      lines: this.#lines,
      records: a.records,
      events: a.events,
      badLines: this.#bad,
      lateRecords: a.late,
      execs: this.#execs,
      failedExecs: this.#failed,
      forks: this.#forks,
      alerts: this.#alerts,
      processes: this.#table.size,
    };
  }
}
