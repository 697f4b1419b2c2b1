// The PostgreSQL engine: every part of RecorderStore in one database several recorder replicas
// share (sessions here; events, signatures, sign-ins, sign-in failures, replicas and job locks in
// their own files of this folder), evidence bundles in an ObjectStore they share too. open()
// applies the schema (db.ts, under an advisory lock) before the store serves.
import type { SessionList, SessionQuery, SessionRecord } from '../../../common/wire.ts';
import type { WebSessionStore } from '../../auth/web-session.ts';
import type { EventStore } from '../../events/store.ts';
import type { SignatureStore } from '../../evidence/store.ts';
import type { ObjectStore } from '../../storage/object-store.ts';
import type { SignInFailureStore } from '../../ui/sign-in-limit.ts';
import {
  encodeCursor,
  type InterruptedSession,
  type JobLock,
  type RecorderStore,
  type ReplicaRegistry,
  type Store,
} from '../store.ts';
import { PgDatabase } from './db.ts';
import { PgEventStore } from './events.ts';
import { PgJobLock } from './jobs.ts';
import { PG_MIGRATIONS } from './migrations.ts';
import { PgReplicaRegistry } from './replicas.ts';
import { fromPgRow, pgListQuery, toPgRow } from './session-rows.ts';
import { PgSignInFailures } from './sign-in-failures.ts';
import { PgSignatureStore } from './signatures.ts';
import { PgWebSessions } from './web-sessions.ts';

export interface PgStoreOptions {
  /** postgres://user:password@host:port/database */
  url: string;
  /** Where evidence bundles go: shared by every replica. */
  objects: ObjectStore;
  /** This replica's local directory for bundles downloaded from `objects`. */
  cacheDir: string;
  /** Connections this replica opens at most (default 10). */
  maxConnections?: number;
  log?: (line: string) => void;
}

type SessionPatch = Partial<Omit<SessionRecord, 'id'>>;

export class PgStore implements RecorderStore {
  readonly events: EventStore;
  readonly signatures: SignatureStore;
  readonly webSessions: WebSessionStore;
  readonly signInFailures: SignInFailureStore;
  readonly replicas: ReplicaRegistry;
  readonly jobs: JobLock;
  readonly #db: PgDatabase;

  /** Connects and brings the schema up to date; safe when several replicas start at once. */
  static async open(options: PgStoreOptions): Promise<PgStore> {
    const db = new PgDatabase({
      url: options.url,
      ...(options.maxConnections ? { maxConnections: options.maxConnections } : {}),
      ...(options.log ? { log: options.log } : {}),
    });
    try {
      const applied = await db.migrate(PG_MIGRATIONS);
      if (applied) options.log?.(`store: applied ${applied} schema step(s) to ${db.where}`);
    } catch (err) {
      await db.close();
      throw err;
    }
    return new PgStore(db, options);
  }

  private constructor(db: PgDatabase, options: PgStoreOptions) {
    this.#db = db;
    this.events = new PgEventStore(db);
    this.signatures = new PgSignatureStore({ db, objects: options.objects, cacheDir: options.cacheDir });
    this.webSessions = new PgWebSessions(db);
    this.signInFailures = new PgSignInFailures(db);
    this.replicas = new PgReplicaRegistry(db);
    this.jobs = new PgJobLock(db);
  }

  readiness(): Promise<string | undefined> {
    return this.#db.problem();
  }

  async insertSession(record: SessionRecord): Promise<void> {
    const entries = toPgRow(record);
    await this.#db.query(
      `INSERT INTO sessions (${entries.map(([c]) => c).join(', ')}) VALUES (${entries.map((_, i) => `$${i + 1}`).join(', ')})`,
      entries.map(([, v]) => v),
    );
  }

  async updateSession(id: string, patch: SessionPatch): Promise<void> {
    await this.#update(id, patch, null);
  }

  transitionSession(id: string, from: SessionRecord['state'], patch: SessionPatch): Promise<boolean> {
    return this.#update(id, patch, from);
  }

  /** One UPDATE; with `from`, only while the row is still in that state (the row lock decides). */
  async #update(id: string, patch: SessionPatch, from: string | null): Promise<boolean> {
    const entries = toPgRow({ ...patch, id: undefined } as Partial<SessionRecord>);
    if (!entries.length) return false;
    const sets = entries.map(([c], i) => `${c} = $${i + 1}`).join(', ');
    const n = entries.length;
    const where = from === null ? `id = $${n + 1}` : `id = $${n + 1} AND state = $${n + 2}`;
    const args = [...entries.map(([, v]) => v), id, ...(from === null ? [] : [from])];
    const r = await this.#db.query(`UPDATE sessions SET ${sets} WHERE ${where}`, args);
    return r.rowCount === 1;
  }

  async getSession(id: string): Promise<SessionRecord | undefined> {
    const { rows } = await this.#db.query('SELECT * FROM sessions WHERE id = $1', [id]);
    return rows[0] ? fromPgRow(rows[0]) : undefined;
  }

  async listSessions(filter: SessionQuery): Promise<SessionList> {
    const { sql, args, limit } = pgListQuery(filter);
    const { rows } = await this.#db.query(sql, args);
    const items = rows.slice(0, limit).map(fromPgRow);
    const last = items[items.length - 1];
    return rows.length > limit && last
      ? { items, continue: encodeCursor({ startedAt: last.startedAt, id: last.id }) }
      : { items };
  }

  async listSessionsEndedBefore(before: string): Promise<SessionRecord[]> {
    const { rows } = await this.#db.query(
      `SELECT * FROM sessions WHERE state NOT IN ('pending', 'running')
       AND COALESCE(ended_at, started_at) < $1 ORDER BY started_at LIMIT 10000`,
      [before],
    );
    return rows.map(fromPgRow);
  }

  async deleteSession(id: string): Promise<void> {
    await this.#db.query('DELETE FROM sessions WHERE id = $1', [id]);
  }

  async interruptStale(o: Parameters<Store['interruptStale']>[0]): Promise<InterruptedSession[]> {
    const mine = o.replicas ? ' AND (replica IS NULL OR replica = ANY($5::text[]))' : '';
    // FOR UPDATE: a replica marking at the same time waits for these rows, then finds them no
    // longer open, so each session is returned to one caller.
    const { rows } = await this.#db.query(
      `WITH stale AS (
         SELECT id, state AS was FROM sessions
         WHERE ((state = 'pending' AND started_at < $3) OR ($4 AND state = 'running'))${mine}
         FOR UPDATE)
       UPDATE sessions s SET state = 'interrupted', error = $1, ended_at = $2
       FROM stale WHERE s.id = stale.id
       RETURNING s.*, stale.was`,
      [o.error, o.endedAt, o.pendingBefore, o.running, ...(o.replicas ? [o.replicas] : [])],
    );
    return rows.map((r) => ({ session: fromPgRow(r), was: r.was === 'pending' ? 'pending' : 'running' }));
  }

  async close(): Promise<void> {
    await this.#db.close();
  }
}
