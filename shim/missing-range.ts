// The audit serials a gap in the log covers. The tailer knows only that lines may be missing
// between two batches (auditd deleted a rotated file before it was opened); this knows the last
// record read before and takes the first one after, so the report names exactly which serials and
// which stretch of time may be missing. auditd's own DAEMON_* records (the DAEMON_ROTATE that opens
// every file) carry auditd's sequence, not the kernel's serials, and are passed over. Pure.

import type { MissingRange } from '../common/missing-range.ts';
import type { AttributionAlert } from '../common/wire.ts';

const STAMP = /msg=audit\((\d+)\.(\d+):(\d+)\)/;

/** "sec.ms" and the serial of an audit line, or null. */
export function auditStamp(line: string): { time: string; timeMs: number; serial: number } | null {
  const m = STAMP.exec(line);
  if (m === null) return null;
  return { time: `${m[1]}.${m[2]}`, timeMs: Number(m[1]) * 1000 + Number(m[2]), serial: Number(m[3]) };
}

/** A finished gap: the range, the alert and the two lines around it (for evidence). */
export interface Gap {
  range: MissingRange;
  alert: AttributionAlert;
  auditSerial: number;
  /** "sec.ms" of the last record before the gap (else the first after) */
  auditTime: string;
  raw: string[];
}

export class GapTracker {
  #last: string | null;
  #pending: string | null = null;

  /** `lastLine`: the last record read before this process started (from the checkpoint), if any. */
  constructor(lastLine: string | null = null) {
    this.#last = lastLine;
  }

  /** The last kernel record read, to carry across restarts. */
  get lastLine(): string | null {
    return this.#last;
  }

  /** Lines may be missing before the next one (the tailer's `missingBefore`). */
  missing(reason: string): void {
    this.#pending ??= reason;
  }

  /** Every line read, with the serial the parser found (-1: not a record). The gap once its end is
   *  known: at the first kernel record after it. */
  line(text: string, serial: number): Gap | null {
    if (serial < 0 || text.startsWith('type=DAEMON_')) return null;
    const before = this.#last;
    this.#last = text;
    if (this.#pending === null) return null;
    const reason = this.#pending;
    this.#pending = null;
    return gapBetween(before, text, reason);
  }
}

function gapBetween(before: string | null, after: string, reason: string): Gap | null {
  const a = before === null ? null : auditStamp(before);
  const b = auditStamp(after);
  if (b === null) return null;
  const fromSerial = a === null ? null : a.serial + 1;
  const toSerial = b.serial - 1;
  const range: MissingRange = {
    fromSerial,
    toSerial,
    from: a === null ? null : new Date(a.timeMs).toISOString(),
    to: new Date(b.timeMs).toISOString(),
    reason,
  };
  const at = a ?? b;
  const alert: AttributionAlert = {
    alert: 'events-missing',
    session: null,
    pid: 0,
    ppid: 0,
    argv: [],
    time: new Date(at.timeMs).toISOString(),
    auditId: `${at.time}:${fromSerial ?? toSerial}`,
    tty: null,
    containerId: null,
    missing: range,
  };
  return {
    range,
    alert,
    auditSerial: fromSerial ?? toSerial,
    auditTime: at.time,
    raw: before === null ? [after] : [before, after],
  };
}
