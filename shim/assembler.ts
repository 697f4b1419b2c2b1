// Groups records into events by (node, serial), the way `ausearch --raw` does. auditd never writes
// EOE to audit.log, so an event ends at PROCTITLE (the kernel's last record of a syscall event),
// at EOE when a copy has one, at once for single-record user-space types, or once later serials
// have kept arriving for `lagRecords` records or `timeoutMs` of audit time. A plain "ends at the
// next serial" would split events: on several CPUs the kernel interleaves records of neighbouring
// serials (go-libaudit's out_of_order.log). The clock is the audit timestamp, never the wall clock.

import type { AuditRecord } from './parser.ts';
import { isSingleRecordType } from './record-types.ts';

export interface AuditEvent {
  node: string | null;
  serial: number;
  /** "sec.ms" of the first record */
  time: string;
  timeMs: number;
  records: AuditRecord[];
}

export interface AssemblerOptions {
  onEvent: (event: AuditEvent) => void;
  /** a record whose event was already emitted (it arrived too late to be grouped) */
  onLate?: (record: AuditRecord) => void;
  /** audit-time silence after which an open event is emitted */
  timeoutMs?: number;
  /** records with other serials after which an open event is considered complete */
  lagRecords?: number;
  /** open events kept at most; the oldest is emitted when exceeded */
  maxOpen?: number;
  /** emitted event keys remembered to recognise late records */
  rememberEmitted?: number;
}

export interface AssemblerStats {
  records: number;
  events: number;
  late: number;
  open: number;
}

interface OpenEvent {
  key: string | number;
  event: AuditEvent;
  lastRecord: number;
  lastTimeMs: number;
  /** has a SYSCALL record, so the kernel will end it with PROCTITLE */
  syscall: boolean;
}

const TIMEOUT_MIN_LAG = 8;
// A syscall event's records can be hundreds of records apart when the kernel's backlog is full and
// the writer waits between them (seen: SYSCALL and its EXECVE 318 lines apart during an exec storm
// with backlog_limit 64); its PROCTITLE, not the lag, is what normally ends it.
const SYSCALL_LAG_FACTOR = 64;
const DEFAULTS = { timeoutMs: 2000, lagRecords: 64, maxOpen: 4096, rememberEmitted: 8192 };

export class EventAssembler {
  readonly #opts: Required<Omit<AssemblerOptions, 'onLate'>> & Pick<AssemblerOptions, 'onLate'>;
  readonly #open = new Map<string | number, OpenEvent>();
  readonly #emitted = new Set<string | number>();
  readonly #emittedRing: (string | number)[] = [];
  #ringPos = 0;
  #records = 0;
  #events = 0;
  #late = 0;
  #maxTimeMs = 0;

  constructor(options: AssemblerOptions) {
    this.#opts = { ...DEFAULTS, ...options };
  }

  push(record: AuditRecord): void {
    this.#records++;
    if (record.timeMs > this.#maxTimeMs) this.#maxTimeMs = record.timeMs;
    const key = record.node === null ? record.serial : `${record.node}\u0000${record.serial}`;
    let open = this.#open.get(key);
    if (open === undefined) {
      if (this.#emitted.has(key)) {
        // EOE after PROCTITLE is the normal end of a copy that has EOEs, not a late record.
        if (record.type === 'EOE') return;
        this.#late++;
        this.#opts.onLate?.(record);
        this.#expire();
        return;
      }
      if (record.type === 'EOE') {
        // EOE for an event we never saw: nothing to close, and not a record of its own.
        return;
      }
      open = {
        key,
        event: {
          node: record.node,
          serial: record.serial,
          time: record.time,
          timeMs: record.timeMs,
          records: [],
        },
        lastRecord: 0,
        lastTimeMs: 0,
        syscall: false,
      };
      this.#open.set(key, open);
    }
    open.lastRecord = this.#records;
    open.lastTimeMs = record.timeMs;
    if (record.type === 'EOE') {
      this.#emit(open);
    } else {
      open.event.records.push(record);
      if (record.type === 'SYSCALL') open.syscall = true;
      if (record.type === 'PROCTITLE' || isSingleRecordType(record.type)) this.#emit(open);
    }
    this.#expire();
  }

  /** Emits every open event (end of input, or shutdown). */
  flush(): void {
    for (const open of [...this.#open.values()]) this.#emit(open);
  }

  /** Emits events idle for longer than the timeout at audit time `nowMs` (a tailer calls this when
   *  the log goes quiet, so the last event of a burst does not wait for the next one). */
  expireBefore(nowMs: number): void {
    for (const open of [...this.#open.values()]) {
      if (nowMs - open.lastTimeMs > this.#opts.timeoutMs) this.#emit(open);
    }
  }

  openSerials(): number[] {
    return [...this.#open.values()].map((o) => o.event.serial);
  }

  get stats(): AssemblerStats {
    return { records: this.#records, events: this.#events, late: this.#late, open: this.#open.size };
  }

  #expire(): void {
    const { lagRecords, timeoutMs, maxOpen } = this.#opts;
    // Map iteration is insertion order: the head is the oldest open event.
    for (const open of this.#open.values()) {
      const lag = this.#records - open.lastRecord;
      const lagLimit = open.syscall ? lagRecords * SYSCALL_LAG_FACTOR : lagRecords;
      // Audit time alone does not close an event: a record of a neighbouring serial may carry a
      // timestamp far ahead (out_of_order.log), so the timeout also wants a few records of lag.
      const stale =
        lag > lagLimit ||
        (lag >= TIMEOUT_MIN_LAG && this.#maxTimeMs - open.lastTimeMs > timeoutMs) ||
        this.#open.size > maxOpen;
      if (!stale) break;
      this.#emit(open);
    }
  }

  #emit(open: OpenEvent): void {
    this.#open.delete(open.key);
    this.#remember(open.key);
    if (open.event.records.length === 0) return;
    this.#events++;
    this.#opts.onEvent(open.event);
  }

  #remember(key: string | number): void {
    const size = this.#opts.rememberEmitted;
    if (this.#emittedRing.length < size) {
      this.#emittedRing.push(key);
    } else {
      this.#emitted.delete(this.#emittedRing[this.#ringPos]!);
      this.#emittedRing[this.#ringPos] = key;
      this.#ringPos = (this.#ringPos + 1) % size;
    }
    this.#emitted.add(key);
  }
}
