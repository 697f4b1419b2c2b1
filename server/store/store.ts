// The storage contracts. One engine holds all of the recorder's state behind these interfaces:
// SQLite (embedded, one data dir: sqlite.ts) today; a PostgreSQL store for several replicas
// implements the same ones, hence the Promises. Stores throw StoreError (errors.ts), never HTTP
// errors: the HTTP edge maps codes to statuses. test/server/store/contract/ is the suite every
// engine must pass, given its own factory.
import type { SessionList, SessionQuery, SessionRecord } from '../../common/wire.ts';
import type { EventStore } from '../events/store.ts';
import type { SignatureStore } from '../evidence/store.ts';

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
  /** Sessions left pending/running by a recorder that died: marked interrupted with `error`. */
  interruptStale(options: {
    pendingBefore: string;
    running: boolean;
    error: string;
    endedAt: string;
  }): Promise<number>;
  close(): Promise<void>;
}

/**
 * Everything a recorder keeps as state, from one engine (what a `--database` flag would choose):
 * sessions (the store itself), shim events, and evidence signatures with the bundles they seal.
 * The rest of the state has its own small interface with an in-memory default, for a shared engine
 * to replace: browser sign-ins (WebSessionStore, auth/web-session.ts) and failed sign-ins
 * (SignInFailureStore, ui/sign-in-limit.ts). The seal queue and the unopened-session timer hold
 * only timers; what they act on is in these stores.
 */
export interface RecorderStore extends Store {
  readonly events: EventStore;
  readonly signatures: SignatureStore;
  /** Undefined while the store can serve; else one sentence saying why not (GET /readyz). */
  readiness(): Promise<string | undefined>;
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
