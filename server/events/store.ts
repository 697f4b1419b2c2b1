// The shim events contract: what ingestion stores and what the API, evidence and the web UI read
// back. Engine-neutral: the embedded SQLite store implements it (server/store/sqlite-events.ts) and
// a PostgreSQL store implements the same interface; the shared contract suite
// (test/server/store/contract/) holds both to it. Inserts are idempotent on the audit identity, so
// the shim's resends after reconnects and restarts store nothing twice.
import type { AlertKind, AttributionAlert, ShimEvent } from '../../common/wire.ts';

export interface PodRef {
  namespace: string;
  pod: string;
}

export interface InsertOptions {
  receivedAt: string;
  podOf?: (e: ShimEvent) => PodRef | null;
  /** further sessions a node-wide event concerns (events-missing): reported in `sessions` when
   *  it is new, so their counts and evidence are brought up to date */
  alsoFor?: (e: ShimEvent) => readonly string[];
}

export interface InsertResult {
  inserted: number;
  duplicates: number;
  /** sessions that got at least one new event */
  sessions: string[];
}

export interface SessionCounts {
  commandCount: number;
  alertCount: number;
}

/** The alerts that are activity outside any session (the unrecorded-activity page): also a process
 *  that claimed a session it is not part of (marker-forged from the shim, session-mismatch from
 *  ingestion), which is listed with that session's events as well. */
export const UNRECORDED_KINDS = [
  'unrecorded-tty',
  'unrecorded-exec',
  'marker-forged',
  'session-mismatch',
] as const satisfies AlertKind[];
export type UnrecordedKind = (typeof UNRECORDED_KINDS)[number];

export interface AlertFilter {
  /** one kind only; all UNRECORDED_KINDS when absent */
  kind?: UnrecordedKind;
  pod?: string;
  node?: string;
  /** ISO-8601, inclusive */
  since?: string;
  /** ISO-8601, exclusive */
  until?: string;
  limit: number;
  continue?: string;
}

/** An UNRECORDED_KINDS alert with where it happened (the pod as ingestion resolved it). */
export interface UnrecordedAlert extends AttributionAlert {
  node?: string;
  namespace?: string;
  pod?: string;
}

export interface AlertPage {
  items: UnrecordedAlert[];
  /** present when more alerts follow */
  continue?: string;
}

export interface EventStore {
  /** Stores a batch atomically; events already stored (same audit identity and kind) are skipped. */
  insert(events: readonly ShimEvent[], options: InsertOptions): Promise<InsertResult>;
  /** Every exec and alert of the session in audit order, with the node-wide events-missing alerts
   *  that overlap its time on its node (the evidence SessionSource method). */
  listEvents(sessionId: string): Promise<ShimEvent[]>;
  /** The commands and alerts listEvents would return, counted. */
  counts(sessionId: string): Promise<SessionCounts>;
  /** UNRECORDED_KINDS alerts, newest first, keyset-paged; a foreign `continue` throws StoreError
   *  EVENTS_BAD_CURSOR. */
  unrecordedAlerts(filter: AlertFilter): Promise<AlertPage>;
  /** Of these sessions, those whose attributed commands contain every term (case-insensitive). */
  matchCommands(sessionIds: readonly string[], terms: readonly string[]): Promise<Set<string>>;
  /** Retention: the session's events (and whatever indexes them) go with it. */
  deleteSession(sessionId: string): Promise<void>;
}

/** The session an event belongs to: the exec's, the session a marker-conflict stays in, or the
 *  session a marker-forged or session-mismatch alert claimed (its auditors must see the claim). */
export function sessionOf(e: ShimEvent): string | null {
  const a = e.alert;
  if (a?.alert === 'marker-forged' || a?.alert === 'session-mismatch') return a.declared ?? a.session ?? null;
  return (e.kind === 'exec' ? e.exec?.session : a?.session) ?? null;
}
