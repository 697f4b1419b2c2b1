// A gap in the audit log the shim could not read, and the one sentence it reads as in the shim's
// log, the web UI and evidence.

/** events-missing: audit events the shim could not read (auditd deleted a rotated log before the
 *  shim opened it). The range is exact in audit serials; the recorder stores the alert for every
 *  session on the node whose time the range overlaps. */
export interface MissingRange {
  /** first and last serial that may be missing; null when not known (nothing read before) */
  fromSerial: number | null;
  toSerial: number;
  /** ISO-8601: the last event read before the range (null: unknown) and the first after it */
  from: string | null;
  to: string;
  /** why, in a sentence */
  reason: string;
}

/** The sentence evidence and logs show. */
export function describeMissing(r: MissingRange): string {
  const serials =
    r.fromSerial === null
      ? `up to audit serial ${r.toSerial}`
      : `audit serials ${r.fromSerial}–${r.toSerial}`;
  return `events may be missing from ${r.from ?? 'the last checkpoint'} to ${r.to} (${serials}): ${r.reason}`;
}
