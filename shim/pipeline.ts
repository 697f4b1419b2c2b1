// The shim's core as one object: lines in, attributed execs and alerts out, through parser →
// assembler → exec-event → process table → attribution. The offline tool and the daemon both wrap
// it; neither knows the stages. No I/O except through the ProcSource it is given.

import { EventAssembler } from './assembler.ts';
import { type AttributedOutput, Attributor, type ExpectedExec } from './attribution.ts';
import { interpretEvent, type ProcessEvent, syscallKind } from './exec-event.ts';
import { Lookahead } from './lookahead.ts';
import { type AuditLineError, type AuditRecord, type ParseResult, parseAuditLine } from './parser.ts';
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
  /** offline: processes in a session the table's bound dropped and forgot (ProcessTable) */
  forgottenSessionProcesses: number;
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
  table?: { maxEntries?: number; idleMs?: number; maxDropped?: number };
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
  /** forks handled at their SYSCALL record, so skipped when the assembler emits them */
  readonly #earlyForks = new Set<string | number>();
  /** events held while the log has not yet told whether a pid was re-parented or reused */
  readonly #lookahead: Lookahead;

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
    this.#lookahead = new Lookahead(this.#table, (p) => this.#process(p));
    this.#assembler = new EventAssembler({
      ...options.assembler,
      onLate: options.onLate,
      onEvent: (event) => {
        if (this.#earlyForks.size > 0 && this.#earlyForks.delete(keyOf(event))) return;
        const p = interpretEvent(event);
        if (p !== null) this.#handle(p);
      },
    });
  }

  #handle(p: ProcessEvent): void {
    this.#lookahead.push(p);
  }

  #process(p: ProcessEvent): void {
    if (p.kind === 'fork') this.#forks++;
    else if (!p.success) this.#failed++;
    this.#attributor.handle(p);
    if (++this.#sinceSweep >= this.#sweepEvery) {
      this.#sinceSweep = 0;
      this.#table.sweep(p.timeMs);
    }
  }

  /**
   * A fork needs only its SYSCALL record, and is handled there rather than when its event ends:
   * the kernel may write the child's whole exec between the parent's SYSCALL and PROCTITLE records
   * (seen: a subshell's first child), and a short-lived subshell is gone from /proc by then.
   */
  #forkEarly(r: AuditRecord): void {
    const kind = syscallKind(r);
    if (kind !== 'fork' && kind !== 'thread-capable-clone') return;
    const event = { node: r.node, serial: r.serial, time: r.time, timeMs: r.timeMs, records: [r] };
    const p = interpretEvent(event);
    if (p === null) return;
    const key = keyOf(event);
    // Bounded: a SYSCALL record that came too late to be grouped is never emitted.
    if (this.#earlyForks.size >= 4096) this.#earlyForks.delete(this.#earlyForks.values().next().value!);
    this.#earlyForks.add(key);
    this.#handle(p);
  }

  /** Feeds one line; returns its audit serial, or -1 for a line that is not a record. */
  line(text: string): number {
    return this.parsed(parseAuditLine(text), text);
  }

  /** Feeds one line a parser worker already parsed (`r` is parseAuditLine(text)). */
  parsed(r: ParseResult, text: string): number {
    this.#lines++;
    if (r.kind === 'error') {
      if (r.code === 'empty') return -1;
      this.#bad++;
      this.#opts.onBadLine?.(this.#lines, r, text);
      return -1;
    }
    if (r.type === 'SYSCALL') this.#forkEarly(r);
    this.#assembler.push(r);
    return r.serial;
  }

  /** Serials of events still being assembled: their lines must be read again after a restart. */
  openSerials(): number[] {
    return [...this.#assembler.openSerials(), ...this.#lookahead.serials()];
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
    this.#lookahead.expireBefore(nowMs);
  }

  flush(): void {
    this.#assembler.flush();
    this.#lookahead.flush();
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
      forgottenSessionProcesses: this.#table.forgottenSessionProcesses,
    };
  }
}

/** The assembler's event key. */
function keyOf(e: { node: string | null; serial: number }): string | number {
  return e.node === null ? e.serial : `${e.node}\u0000${e.serial}`;
}
