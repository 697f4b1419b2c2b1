// The embedded engine's one database handle: node:sqlite in the data directory, WAL so readers
// never wait for the writer, schema steps applied once each. Only the SQLite stores of this folder
// (sqlite.ts for sessions, sqlite-events.ts for shim events) hold it; everything else reaches state
// through the store interfaces (store.ts), so another engine can stand in.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

/** A schema step, applied once, in its own transaction; ids order nothing, the list does. */
export interface Migration {
  id: string;
  up(db: DatabaseSync): void;
}

export class SqliteDatabase {
  readonly handle: DatabaseSync;
  /** The database file, absolute. */
  readonly path: string;
  readonly #log: (line: string) => void;

  constructor(options: { dataDir: string; log?: (line: string) => void }) {
    this.#log = options.log ?? (() => {});
    mkdirSync(options.dataDir, { recursive: true });
    this.path = join(resolve(options.dataDir), 'audited-exec.db');
    this.handle = new DatabaseSync(this.path);
    this.handle.exec('PRAGMA journal_mode = WAL');
    this.handle.exec('PRAGMA synchronous = NORMAL');
    this.handle.exec('PRAGMA busy_timeout = 5000');
    // The WAL shares the disk with the recordings: give its space back after each checkpoint.
    this.handle.exec('PRAGMA journal_size_limit = 1048576');
    this.handle.exec(
      'CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at TEXT NOT NULL) STRICT',
    );
  }

  /** Applies each migration not yet recorded, each in its own transaction. Idempotent. */
  migrate(migrations: readonly Migration[]): void {
    const done = this.handle.prepare('SELECT 1 FROM schema_migrations WHERE id = ?');
    const mark = this.handle.prepare('INSERT INTO schema_migrations (id, applied_at) VALUES (?, ?)');
    let applied = 0;
    for (const m of migrations) {
      if (done.get(m.id)) continue;
      this.transaction(() => {
        m.up(this.handle);
        mark.run(m.id, new Date().toISOString());
      });
      applied++;
    }
    // Schema steps rewrite the same pages many times: left in the WAL they take ~190 KiB of disk
    // that a small data disk needs for recordings. Move them into the database and empty the WAL.
    if (!applied) return;
    try {
      this.handle.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    } catch (err) {
      this.#log(`store: WAL checkpoint failed: ${String(err)}`);
    }
  }

  transaction<T>(fn: () => T): T {
    this.handle.exec('BEGIN IMMEDIATE');
    try {
      const out = fn();
      this.handle.exec('COMMIT');
      return out;
    } catch (err) {
      this.handle.exec('ROLLBACK');
      throw err;
    }
  }

  /** Undefined when the database answers a query; else why not (readiness). */
  problem(): string | undefined {
    if (!this.handle.isOpen) return 'the database is not open';
    try {
      if (this.handle.prepare('SELECT 1 AS one').get()?.one === 1) return undefined;
    } catch {
      // reported below
    }
    return 'the database is not open';
  }

  get isOpen(): boolean {
    return this.handle.isOpen;
  }

  close(): void {
    if (this.handle.isOpen) this.handle.close();
  }
}
