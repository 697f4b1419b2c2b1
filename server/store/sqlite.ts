// The embedded store: node:sqlite in the data directory (sqlite-db.ts), the engine `npm start`
// needs no database server for. Sessions are here; shim events (sqlite-events.ts) share the
// database, signatures and bundles are files in the data directory (evidence/store.ts).
// Every SessionRecord field is a column; list filters each have an index ending in (started_at, id),
// so a keyset page is an index range scan however many sessions there are.
import { join } from 'node:path';
import type { DatabaseSync, SQLInputValue } from 'node:sqlite';
import type { SessionList, SessionQuery, SessionRecord } from '../../common/wire.ts';
import { MemoryWebSessions, type WebSessionStore } from '../auth/web-session.ts';
import type { EventStore } from '../events/store.ts';
import { createFileSignatureStore, type SignatureStore } from '../evidence/store.ts';
import {
  MemorySignInFailures,
  SIGN_IN_LIMIT_DEFAULTS,
  type SignInFailureStore,
} from '../ui/sign-in-limit.ts';
import { DISK_FULL_MESSAGE } from './disk.ts';
import { badCursor, StoreError } from './errors.ts';
import { MemoryReplicaRegistry } from './memory-replicas.ts';
import { isDiskFull, PendingWrites, type SessionPatch } from './pending.ts';
import { ProcessJobLock } from './process-job-lock.ts';
import { fromRow, SESSION_MIGRATIONS, toRow } from './rows.ts';
import { SqliteDatabase } from './sqlite-db.ts';
import { SqliteEventStore } from './sqlite-events.ts';
import {
  DEFAULT_PAGE,
  decodeCursor,
  encodeCursor,
  type InterruptedSession,
  type JobLock,
  MAX_PAGE,
  type RecorderStore,
  type ReplicaRegistry,
  type Store,
} from './store.ts';

export interface SqliteStoreOptions {
  dataDir: string;
  /**
   * Called when a write finds the disk full; returns true when it freed space (DiskReserve.release),
   * and the write is retried at once.
   */
  onDiskFull?: () => boolean;
  log?: (line: string) => void;
}

export class SqliteStore implements RecorderStore {
  /** Signature chains and the bundles they seal: files under <dataDir>/evidence. */
  readonly signatures: SignatureStore;
  // One process owns this database, so the state several replicas would share stays in it.
  readonly webSessions: WebSessionStore = new MemoryWebSessions();
  readonly signInFailures: SignInFailureStore = new MemorySignInFailures({
    maxAddresses: SIGN_IN_LIMIT_DEFAULTS.maxAddresses,
  });
  readonly replicas: ReplicaRegistry = new MemoryReplicaRegistry();
  readonly jobs: JobLock;
  readonly #db: SqliteDatabase;
  #events: SqliteEventStore | undefined;
  readonly #onDiskFull: () => boolean;
  readonly #log: (line: string) => void;
  /** Session updates held in memory while the disk is full (pending.ts). */
  readonly #pending: PendingWrites;

  constructor(options: SqliteStoreOptions) {
    this.#onDiskFull = options.onDiskFull ?? (() => false);
    this.#log = options.log ?? (() => {});
    this.#pending = new PendingWrites({
      apply: (id, patch) => this.#write(() => this.#update(id, patch, null)),
      retryable: isDiskFull,
      log: this.#log,
    });
    this.#db = new SqliteDatabase({ dataDir: options.dataDir, log: this.#log });
    this.#db.migrate(SESSION_MIGRATIONS);
    this.signatures = createFileSignatureStore({ dir: join(options.dataDir, 'evidence') });
    this.jobs = new ProcessJobLock(this.#db.path);
  }

  /** The raw handle, for this engine's own tests and tools (EXPLAIN, PRAGMA); the recorder reads
   *  and writes state only through the interfaces, so another engine can stand in. */
  get sqliteHandle(): DatabaseSync {
    return this.#db.handle;
  }

  /** The shim events, in the same database; their tables are made when first asked for. */
  get events(): EventStore {
    this.#events ??= new SqliteEventStore(this.#db);
    return this.#events;
  }

  /** Runs `fn` in one write transaction: bulk loads with insertSessionSync. */
  transaction<T>(fn: () => T): T {
    return this.#db.transaction(fn);
  }

  /** Session updates not yet stored because the disk is full (readiness reports them). */
  get pendingWrites(): number {
    return this.#pending.size;
  }

  /** Tries the held-back updates now (an operator freed space); returns how many are left. */
  flushPending(): number {
    return this.#pending.size ? this.#pending.flush() : 0;
  }

  async readiness(): Promise<string | undefined> {
    const problem = this.#db.problem();
    if (problem) return problem;
    if (this.flushPending()) return `${this.pendingWrites} session update(s) wait for disk space`;
    return undefined;
  }

  /** Runs a write; on a full disk frees the reserve and tries once more before giving up. */
  #write<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (!isDiskFull(err) || !this.#onDiskFull()) throw err;
      return fn();
    }
  }

  async insertSession(record: SessionRecord): Promise<void> {
    try {
      this.#write(() => this.insertSessionSync(record));
    } catch (err) {
      if (!isDiskFull(err)) throw err;
      throw new StoreError('STORE_DISK_FULL', DISK_FULL_MESSAGE, { cause: err });
    }
  }

  /** Synchronous form, for bulk loads inside transaction(). */
  insertSessionSync(record: SessionRecord): void {
    const entries = toRow(record);
    const sql = `INSERT INTO sessions (${entries.map(([c]) => c).join(', ')}) VALUES (${entries.map(() => '?').join(', ')})`;
    this.#db.handle.prepare(sql).run(...entries.map(([, v]) => v));
  }

  /** Never lost to a full disk: the update is then held in memory, visible, and retried (pending.ts). */
  async updateSession(id: string, patch: SessionPatch): Promise<void> {
    // An update queued earlier must not land after this one and undo it: queue behind it.
    if (this.#pending.has(id)) return this.#hold(id, patch);
    try {
      this.#write(() => this.#update(id, patch, null));
    } catch (err) {
      if (!isDiskFull(err)) throw err;
      this.#hold(id, patch);
    }
  }

  async transitionSession(id: string, from: SessionRecord['state'], patch: SessionPatch): Promise<boolean> {
    if (this.#pending.has(id)) return this.#holdIf(id, from, patch);
    try {
      return this.#write(() => this.#update(id, patch, from));
    } catch (err) {
      if (!isDiskFull(err)) throw err;
      // One process owns this database, so the stored row plus held updates is the whole truth.
      return this.#holdIf(id, from, patch);
    }
  }

  #hold(id: string, patch: SessionPatch): void {
    if (!this.#pending.size)
      this.#log(`store: ${DISK_FULL_MESSAGE}; holding session updates until it has room`);
    this.#pending.add(id, patch);
  }

  #holdIf(id: string, from: SessionRecord['state'], patch: SessionPatch): boolean {
    const row = this.#db.handle.prepare('SELECT * FROM sessions WHERE id = ?').get(id);
    const current = row ? this.#pending.overlay(fromRow(row)) : undefined;
    if (current?.state !== from) return false;
    this.#hold(id, patch);
    return true;
  }

  #update(id: string, patch: Partial<SessionRecord>, from: string | null): boolean {
    const entries = toRow({ ...patch, id: undefined } as Partial<SessionRecord>);
    if (!entries.length) return false;
    const sets = entries.map(([c]) => `${c} = ?`).join(', ');
    const where = from === null ? 'id = ?' : 'id = ? AND state = ?';
    const args = [...entries.map(([, v]) => v), id, ...(from === null ? [] : [from])];
    return (
      Number(this.#db.handle.prepare(`UPDATE sessions SET ${sets} WHERE ${where}`).run(...args).changes) === 1
    );
  }

  async getSession(id: string): Promise<SessionRecord | undefined> {
    const row = this.#db.handle.prepare('SELECT * FROM sessions WHERE id = ?').get(id);
    return row ? this.#pending.overlay(fromRow(row)) : undefined;
  }

  async listSessions(filter: SessionQuery): Promise<SessionList> {
    const { sql, args, limit } = listQuery(filter);
    const rows = this.#db.handle.prepare(sql).all(...args);
    // Held-back updates show here too (a state filter sees the stored state until they land).
    const items = rows.slice(0, limit).map((r) => this.#pending.overlay(fromRow(r)));
    const last = items[items.length - 1];
    return rows.length > limit && last
      ? { items, continue: encodeCursor({ startedAt: last.startedAt, id: last.id }) }
      : { items };
  }

  async listSessionsEndedBefore(before: string): Promise<SessionRecord[]> {
    const rows = this.#db.handle
      .prepare(
        `SELECT * FROM sessions WHERE state NOT IN ('pending', 'running')
         AND COALESCE(ended_at, started_at) < ? ORDER BY started_at LIMIT 10000`,
      )
      .all(before);
    return rows.map((r) => this.#pending.overlay(fromRow(r)));
  }

  async deleteSession(id: string): Promise<void> {
    this.#db.handle.prepare('DELETE FROM sessions WHERE id = ?').run(id);
  }

  async interruptStale(o: Parameters<Store['interruptStale']>[0]): Promise<InterruptedSession[]> {
    let where = `((state = 'pending' AND started_at < ?) OR (? AND state = 'running'))`;
    const args: SQLInputValue[] = [o.pendingBefore, o.running ? 1 : 0];
    if (o.replicas) {
      where += ' AND (replica IS NULL OR replica IN (SELECT value FROM json_each(?)))';
      args.push(JSON.stringify(o.replicas));
    }
    const stale = () =>
      this.#db.handle
        .prepare(`SELECT * FROM sessions WHERE ${where}`)
        .all(...args)
        .map(fromRow);
    const patch: SessionPatch = { state: 'interrupted', error: o.error, endedAt: o.endedAt };
    const was = (s: SessionRecord) => (s.state === 'pending' ? ('pending' as const) : ('running' as const));
    // Held only while the stored state, plus what is held already, is still the one found.
    const hold = () =>
      stale()
        .filter((s) => this.#holdIf(s.id, s.state, patch))
        .map((s) => ({ session: this.#pending.overlay(s), was: was(s) }));
    // Updates held earlier (a full disk) must land first: these marks queue behind them.
    if (this.#pending.size) return hold();
    try {
      // One process owns this database and nothing awaits between the two statements, so what the
      // SELECT saw is what the UPDATE marks. (No explicit transaction: a full disk can roll one back
      // itself, and the ROLLBACK that follows would then hide SQLITE_FULL.)
      return this.#write(() => {
        const found = stale();
        const sql = `UPDATE sessions SET state = 'interrupted', error = ?, ended_at = ? WHERE ${where}`;
        this.#db.handle.prepare(sql).run(o.error, o.endedAt, ...args);
        return found.map((s) => ({ session: { ...s, ...patch }, was: was(s) }));
      });
    } catch (err) {
      if (!isDiskFull(err)) throw err;
      // Start-up on a full disk: hold the marks in memory (readers see them) and store them later.
      return hold();
    }
  }

  /** Stores what it can of the held-back updates, then closes. */
  async close(): Promise<void> {
    if (!this.#db.isOpen) return;
    this.flushPending();
    const lost = this.#pending.close();
    if (lost.length) {
      this.#log(
        `store: ${lost.length} session update(s) could not be stored (disk full): ${lost.join(', ')}; ` +
          'the next start marks those sessions interrupted',
      );
    }
    this.#db.close();
  }
}

/** The SELECT for one page; exported so tests can EXPLAIN it. */
export function listQuery(filter: SessionQuery): { sql: string; args: SQLInputValue[]; limit: number } {
  const limit = Math.min(Math.max(Math.trunc(filter.limit ?? DEFAULT_PAGE), 1), MAX_PAGE);
  const where: string[] = [];
  const args: SQLInputValue[] = [];
  for (const key of ['user', 'namespace', 'pod', 'node', 'state'] as const) {
    const v = filter[key];
    if (v !== undefined) {
      where.push(`${key} = ?`);
      args.push(v);
    }
  }
  if (filter.since) {
    where.push('started_at >= ?');
    args.push(filter.since);
  }
  if (filter.until) {
    where.push('started_at < ?');
    args.push(filter.until);
  }
  if (filter.continue !== undefined) {
    const c = decodeCursor(filter.continue);
    if (!c) throw badCursor('STORE_BAD_CURSOR');
    where.push('(started_at, id) < (?, ?)');
    args.push(c.startedAt, c.id);
  }
  const sql =
    `SELECT * FROM sessions${where.length ? ` WHERE ${where.join(' AND ')}` : ''}` +
    ` ORDER BY started_at DESC, id DESC LIMIT ${limit + 1}`;
  return { sql, args, limit };
}
