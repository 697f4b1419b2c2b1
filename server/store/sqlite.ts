// The embedded store: node:sqlite in the data directory, WAL so readers never wait for the writer.
// Every SessionRecord field is a column; list filters each have an index ending in (started_at, id),
// so a keyset page is an index range scan however many sessions there are.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync, type SQLInputValue } from 'node:sqlite';
import type { SessionList, SessionQuery, SessionRecord } from '../../common/wire.ts';
import { DISK_FULL_MESSAGE } from './disk.ts';
import { badCursor, StoreError } from './errors.ts';
import { isDiskFull, PendingWrites, type SessionPatch } from './pending.ts';
import { fromRow, SESSION_MIGRATIONS, toRow } from './rows.ts';
import { DEFAULT_PAGE, decodeCursor, encodeCursor, MAX_PAGE, type Store } from './store.ts';

/** A schema step. Other modules (shim events, evidence) add theirs with their own ids. */
export interface Migration {
  id: string;
  up(db: DatabaseSync): void;
}

export interface SqliteStoreOptions {
  dataDir: string;
  /** Extra schema steps from other modules, applied after the session schema. */
  migrations?: Migration[];
  /**
   * Called when a write finds the disk full; returns true when it freed space (DiskReserve.release),
   * and the write is retried at once.
   */
  onDiskFull?: () => boolean;
  log?: (line: string) => void;
}

export class SqliteStore implements Store {
  /** The raw handle, for modules that keep their own tables in the same database (see migrate). */
  readonly db: DatabaseSync;
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
    mkdirSync(options.dataDir, { recursive: true });
    this.db = new DatabaseSync(join(options.dataDir, 'audited-exec.db'));
    this.db.exec('PRAGMA journal_mode = WAL');
    this.db.exec('PRAGMA synchronous = NORMAL');
    this.db.exec('PRAGMA busy_timeout = 5000');
    // The WAL shares the disk with the recordings: give its space back after each checkpoint.
    this.db.exec('PRAGMA journal_size_limit = 1048576');
    this.db.exec(
      'CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at TEXT NOT NULL) STRICT',
    );
    this.migrate([...SESSION_MIGRATIONS, ...(options.migrations ?? [])]);
  }

  /** Applies each migration not yet recorded, each in its own transaction. Idempotent. */
  migrate(migrations: Migration[]): void {
    const done = this.db.prepare('SELECT 1 FROM schema_migrations WHERE id = ?');
    const mark = this.db.prepare('INSERT INTO schema_migrations (id, applied_at) VALUES (?, ?)');
    let applied = 0;
    for (const m of migrations) {
      if (done.get(m.id)) continue;
      this.transaction(() => {
        m.up(this.db);
        mark.run(m.id, new Date().toISOString());
      });
      applied++;
    }
    // Schema steps rewrite the same pages many times: left in the WAL they take ~190 KiB of disk
    // that a small data disk needs for recordings. Move them into the database and empty the WAL.
    if (!applied) return;
    try {
      this.db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    } catch (err) {
      this.#log(`store: WAL checkpoint failed: ${String(err)}`);
    }
  }

  transaction<T>(fn: () => T): T {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const out = fn();
      this.db.exec('COMMIT');
      return out;
    } catch (err) {
      this.db.exec('ROLLBACK');
      throw err;
    }
  }

  /** Session updates not yet stored because the disk is full (readiness reports them). */
  get pendingWrites(): number {
    return this.#pending.size;
  }

  /** Tries the held-back updates now (an operator freed space); returns how many are left. */
  flushPending(): number {
    return this.#pending.size ? this.#pending.flush() : 0;
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
    this.db.prepare(sql).run(...entries.map(([, v]) => v));
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
    const row = this.db.prepare('SELECT * FROM sessions WHERE id = ?').get(id);
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
    return Number(this.db.prepare(`UPDATE sessions SET ${sets} WHERE ${where}`).run(...args).changes) === 1;
  }

  async getSession(id: string): Promise<SessionRecord | undefined> {
    const row = this.db.prepare('SELECT * FROM sessions WHERE id = ?').get(id);
    return row ? this.#pending.overlay(fromRow(row)) : undefined;
  }

  async listSessions(filter: SessionQuery): Promise<SessionList> {
    const { sql, args, limit } = listQuery(filter);
    const rows = this.db.prepare(sql).all(...args);
    // Held-back updates show here too (a state filter sees the stored state until they land).
    const items = rows.slice(0, limit).map((r) => this.#pending.overlay(fromRow(r)));
    const last = items[items.length - 1];
    return rows.length > limit && last
      ? { items, continue: encodeCursor({ startedAt: last.startedAt, id: last.id }) }
      : { items };
  }

  async listSessionsEndedBefore(before: string): Promise<SessionRecord[]> {
    const rows = this.db
      .prepare(
        `SELECT * FROM sessions WHERE state NOT IN ('pending', 'running')
         AND COALESCE(ended_at, started_at) < ? ORDER BY started_at LIMIT 10000`,
      )
      .all(before);
    return rows.map((r) => this.#pending.overlay(fromRow(r)));
  }

  async deleteSession(id: string): Promise<void> {
    this.db.prepare('DELETE FROM sessions WHERE id = ?').run(id);
  }

  async interruptStale(o: {
    pendingBefore: string;
    running: boolean;
    error: string;
    endedAt: string;
  }): Promise<number> {
    const where = `(state = 'pending' AND started_at < ?) OR (? AND state = 'running')`;
    const args = [o.pendingBefore, o.running ? 1 : 0];
    try {
      return this.#write(() => {
        const sql = `UPDATE sessions SET state = 'interrupted', error = ?, ended_at = ? WHERE ${where}`;
        return Number(this.db.prepare(sql).run(o.error, o.endedAt, ...args).changes);
      });
    } catch (err) {
      if (!isDiskFull(err)) throw err;
      // Start-up on a full disk: hold the marks in memory (readers see them) and store them later.
      const stale = this.db.prepare(`SELECT id, state FROM sessions WHERE ${where}`).all(...args);
      const patch: SessionPatch = { state: 'interrupted', error: o.error, endedAt: o.endedAt };
      let n = 0;
      for (const row of stale)
        if (this.#holdIf(String(row.id), row.state as SessionRecord['state'], patch)) n++;
      return n;
    }
  }

  /** Stores what it can of the held-back updates, then closes. */
  async close(): Promise<void> {
    if (!this.db.isOpen) return;
    this.flushPending();
    const lost = this.#pending.close();
    if (lost.length) {
      this.#log(
        `store: ${lost.length} session update(s) could not be stored (disk full): ${lost.join(', ')}; ` +
          'the next start marks those sessions interrupted',
      );
    }
    this.db.close();
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
