// The storage contracts. One engine holds all of the recorder's state behind these interfaces:
// SQLite (embedded, one data dir: sqlite.ts) today; a PostgreSQL store for several replicas
// implements the same ones, hence the Promises. Stores throw StoreError (errors.ts), never HTTP
// errors: the HTTP edge maps codes to statuses. test/server/store/contract/ is the suite every
// engine must pass, given its own factory.
import type { SessionList, SessionQuery, SessionRecord } from '../../common/wire.ts';
import type { WebSessionStore } from '../auth/web-session.ts';
import type { EventStore } from '../events/store.ts';
import type { SignatureStore } from '../evidence/store.ts';
import type { SignInFailureStore } from '../ui/sign-in-limit.ts';
import { badCursor } from './errors.ts';

/** Session rows. Legal holds are the `legalHold` field; retention lists and deletes through it. */
export interface Store {
  insertSession(record: SessionRecord): Promise<void>;
  /** Merges fields into the stored record; `id` cannot change. */
  updateSession(id: string, patch: Partial<Omit<SessionRecord, 'id'>>): Promise<void>;
  /**
   * Moves a session from `from` to the patch's state only if it is still in `from`: true when this
   * caller won. Makes "a stream may be opened once" hold across replicas.
   */
  transitionSession(
    id: string,
    from: SessionRecord['state'],
    patch: Partial<Omit<SessionRecord, 'id'>>,
  ): Promise<boolean>;
  getSession(id: string): Promise<SessionRecord | undefined>;
  /** Newest first (startedAt, then id, descending), keyset-paged. */
  listSessions(filter: SessionQuery): Promise<SessionList>;
  /** Finished sessions whose end (else start) is before `before`, oldest first (retention). */
  listSessionsEndedBefore(before: string): Promise<SessionRecord[]>;
  /** Removes the session row (retention); recordings and evidence are removed by their owners. */
  deleteSession(id: string): Promise<void>;
  /** Sessions left pending/running by a recorder that died: marked interrupted with `error`.
   *  Resolves with each one marked, so the caller can announce the ends (the SIEM export); a
   *  session is in one caller's answer only, however many replicas mark at once. */
  interruptStale(options: {
    pendingBefore: string;
    running: boolean;
    error: string;
    endedAt: string;
    /** Only sessions recorded by these replicas (SessionRecord.replica), and those that name
     *  none; absent: every session (one recorder). */
    replicas?: readonly string[];
  }): Promise<InterruptedSession[]>;
  close(): Promise<void>;
}

/** A session interruptStale marked: as stored now, and the state it was left in (a pending one
 *  never started, so no end of it is announced). */
export interface InterruptedSession {
  session: SessionRecord;
  was: 'pending' | 'running';
}

/**
 * Everything a recorder keeps as state, from one engine (what a `--database` flag would choose):
 * sessions (the store itself), shim events, and evidence signatures with the bundles they seal.
 * browser sign-ins and failed sign-ins, the replicas sharing the store and the locks their
 * periodic jobs take. The seal queue and the unopened-session timer hold only timers; what they
 * act on is in these stores.
 */
export interface RecorderStore extends Store {
  readonly events: EventStore;
  readonly signatures: SignatureStore;
  /** Browser sign-ins, so a browser stays signed in whichever replica answers. */
  readonly webSessions: WebSessionStore;
  /** Failed sign-ins per address (throttling), counted across replicas. */
  readonly signInFailures: SignInFailureStore;
  /** Which replicas are alive, and where the others reach each one. */
  readonly replicas: ReplicaRegistry;
  /** Periodic work that runs once across replicas. */
  readonly jobs: JobLock;
  /** Undefined while the store can serve; else one sentence saying why not (GET /readyz). */
  readiness(): Promise<string | undefined>;
}

/** The recorder replicas sharing one store: each heartbeats; a replica whose heartbeat is older than
 *  the lease is dead, and another one takes over what it left (its sessions end interrupted). */
export interface ReplicaRegistry {
  /** Records that replica `id`, reachable by the others at `url`, is alive at `at` (ISO-8601). */
  heartbeat(id: string, url: string, at: string): Promise<void>;
  /** Forgets a replica that stopped cleanly. */
  remove(id: string): Promise<void>;
  /** Every replica known, with its last heartbeat. */
  list(): Promise<ReplicaInfo[]>;
}

export interface ReplicaInfo {
  id: string;
  url: string;
  heartbeatAt: string;
}

/** A named lock held across replicas while a periodic job runs (retention, unopened sessions,
 *  late-event sealing): the job runs on one replica at a time, not once per replica. */
export interface JobLock {
  /** Runs `fn` while holding the lock `name`; when another holder has it, does not run it. */
  exclusive<T>(name: string, fn: () => Promise<T>): Promise<{ ran: true; value: T } | { ran: false }>;
}

export const MAX_PAGE = 500;
export const DEFAULT_PAGE = 50;

export interface Cursor {
  startedAt: string;
  id: string;
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.startedAt, c.id])).toString('base64url');
}

/** null when the cursor was not made by encodeCursor (the caller answers 400). */
export function decodeCursor(s: string): Cursor | null {
  try {
    const v: unknown = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string') {
      return { startedAt: v[0], id: v[1] };
    }
  } catch {
    // fall through
  }
  return null;
}

/** The alerts page cursor: the last alert's time and row, opaque to clients. */
export function encodeAlertCursor(time: unknown, row: unknown): string {
  return Buffer.from(JSON.stringify([time, row])).toString('base64url');
}

/** [time, row] of an alerts cursor; refused (EVENTS_BAD_CURSOR) when encodeAlertCursor did not make it. */
export function decodeAlertCursor(s: string): [string, number] {
  try {
    const v: unknown = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
    if (Array.isArray(v) && typeof v[0] === 'string' && Number.isInteger(v[1])) return [v[0], v[1]];
  } catch {
    // fall through
  }
  throw badCursor('EVENTS_BAD_CURSOR');
}
