// The embedded store: node:sqlite in the data directory, WAL so readers never wait for the writer.
// Every SessionRecord field is a column; list filters each have an index ending in (started_at, id),
// so a keyset page is an index range scan however many sessions there are.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync, type SQLInputValue } from 'node:sqlite';
import type { SessionList, SessionRecord } from '../../common/wire.ts';
import { HttpError } from '../http/respond.ts';
import {
  DEFAULT_PAGE,
  decodeCursor,
  encodeCursor,
  MAX_PAGE,
  type SessionFilter,
  type Store,
} from './store.ts';

/** A schema step. Other modules (shim events, evidence) add theirs with their own ids. */
export interface Migration {
  id: string;
  up(db: DatabaseSync): void;
}

type Kind = 'text' | 'int' | 'bool' | 'json';
const COLUMNS: [keyof SessionRecord, string, Kind][] = [
  ['id', 'id', 'text'],
  ['kind', 'kind', 'text'],
  ['state', 'state', 'text'],
  ['user', 'user', 'text'],
  ['groups', 'groups', 'json'],
  ['uid', 'uid', 'text'],
  ['impersonator', 'impersonator', 'text'],
  ['reason', 'reason', 'text'],
  ['ticket', 'ticket', 'text'],
  ['namespace', 'namespace', 'text'],
  ['pod', 'pod', 'text'],
  ['container', 'container', 'text'],
  ['containerId', 'container_id', 'text'],
  ['node', 'node', 'text'],
  ['image', 'image', 'text'],
  ['profile', 'profile', 'text'],
  ['command', 'command', 'json'],
  ['tty', 'tty', 'bool'],
  ['stdin', 'stdin', 'bool'],
  ['attribution', 'attribution', 'text'],
  ['auditId', 'audit_id', 'text'],
  ['startedAt', 'started_at', 'text'],
  ['endedAt', 'ended_at', 'text'],
  ['exitCode', 'exit_code', 'int'],
  ['error', 'error', 'text'],
  ['recordInput', 'record_input', 'bool'],
  ['recordingBytes', 'recording_bytes', 'int'],
  ['recordingSha256', 'recording_sha256', 'text'],
  ['commandCount', 'command_count', 'int'],
  ['alertCount', 'alert_count', 'int'],
  ['legalHold', 'legal_hold', 'bool'],
];
const NOT_NULL = new Set([
  'id',
  'kind',
  'state',
  'user',
  'groups',
  'command',
  'tty',
  'stdin',
  'attribution',
  'audit_id',
  'started_at',
  'record_input',
]);

const SESSION_MIGRATIONS: Migration[] = [
  {
    id: '0001-sessions',
    up(db) {
      const cols = COLUMNS.map(([, c, k]) => {
        const type = k === 'int' || k === 'bool' ? 'INTEGER' : 'TEXT';
        return `${c} ${type}${c === 'id' ? ' PRIMARY KEY' : NOT_NULL.has(c) ? ' NOT NULL' : ''}`;
      });
      db.exec(`CREATE TABLE sessions (${cols.join(', ')}) STRICT`);
      db.exec('CREATE INDEX sessions_started ON sessions (started_at, id)');
      for (const c of ['user', 'namespace', 'pod', 'node', 'state']) {
        db.exec(`CREATE INDEX sessions_${c} ON sessions (${c}, started_at, id)`);
      }
    },
  },
];

export interface SqliteStoreOptions {
  dataDir: string;
  /** Extra schema steps from other modules, applied after the session schema. */
  migrations?: Migration[];
}

export class SqliteStore implements Store {
  /** The raw handle, for modules that keep their own tables in the same database (see migrate). */
  readonly db: DatabaseSync;

  constructor(options: SqliteStoreOptions) {
    mkdirSync(options.dataDir, { recursive: true });
    this.db = new DatabaseSync(join(options.dataDir, 'audited-exec.db'));
    this.db.exec('PRAGMA journal_mode = WAL');
    this.db.exec('PRAGMA synchronous = NORMAL');
    this.db.exec('PRAGMA busy_timeout = 5000');
    this.db.exec(
      'CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at TEXT NOT NULL) STRICT',
    );
    this.migrate([...SESSION_MIGRATIONS, ...(options.migrations ?? [])]);
  }

  /** Applies each migration not yet recorded, each in its own transaction. Idempotent. */
  migrate(migrations: Migration[]): void {
    const done = this.db.prepare('SELECT 1 FROM schema_migrations WHERE id = ?');
    const mark = this.db.prepare('INSERT INTO schema_migrations (id, applied_at) VALUES (?, ?)');
    for (const m of migrations) {
      if (done.get(m.id)) continue;
      this.transaction(() => {
        m.up(this.db);
        mark.run(m.id, new Date().toISOString());
      });
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

  async insertSession(record: SessionRecord): Promise<void> {
    this.insertSessionSync(record);
  }

  /** Synchronous form, for bulk loads inside transaction(). */
  insertSessionSync(record: SessionRecord): void {
    const entries = toRow(record);
    const sql = `INSERT INTO sessions (${entries.map(([c]) => c).join(', ')}) VALUES (${entries.map(() => '?').join(', ')})`;
    this.db.prepare(sql).run(...entries.map(([, v]) => v));
  }

  async updateSession(id: string, patch: Partial<Omit<SessionRecord, 'id'>>): Promise<void> {
    this.#update(id, patch, null);
  }

  async transitionSession(
    id: string,
    from: SessionRecord['state'],
    patch: Partial<Omit<SessionRecord, 'id'>>,
  ): Promise<boolean> {
    return this.#update(id, patch, from);
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
    return row ? fromRow(row) : undefined;
  }

  async listSessions(filter: SessionFilter): Promise<SessionList> {
    const { sql, args, limit } = listQuery(filter);
    const rows = this.db.prepare(sql).all(...args);
    const items = rows.slice(0, limit).map(fromRow);
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
    return rows.map(fromRow);
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
    const r = this.db
      .prepare(
        `UPDATE sessions SET state = 'interrupted', error = ?, ended_at = ?
         WHERE (state = 'pending' AND started_at < ?) OR (? AND state = 'running')`,
      )
      .run(o.error, o.endedAt, o.pendingBefore, o.running ? 1 : 0);
    return Number(r.changes);
  }

  async close(): Promise<void> {
    if (this.db.isOpen) this.db.close();
  }
}

/** The SELECT for one page; exported so tests can EXPLAIN it. */
export function listQuery(filter: SessionFilter): { sql: string; args: SQLInputValue[]; limit: number } {
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
    if (!c) throw new HttpError(400, 'STORE_BAD_CURSOR', 'the continue token is not one this server issued');
    where.push('(started_at, id) < (?, ?)');
    args.push(c.startedAt, c.id);
  }
  const sql =
    `SELECT * FROM sessions${where.length ? ` WHERE ${where.join(' AND ')}` : ''}` +
    ` ORDER BY started_at DESC, id DESC LIMIT ${limit + 1}`;
  return { sql, args, limit };
}

/** Undefined fields are left out (absent on insert, untouched on update). */
function toRow(record: Partial<SessionRecord>): [string, SQLInputValue][] {
  const out: [string, SQLInputValue][] = [];
  for (const [field, column, kind] of COLUMNS) {
    const v = record[field];
    if (v !== undefined) out.push([column, encode(v, kind)]);
  }
  return out;
}

function encode(v: unknown, kind: Kind): SQLInputValue {
  if (v === undefined || v === null) return null;
  if (kind === 'json') return JSON.stringify(v);
  if (kind === 'bool') return v ? 1 : 0;
  return v as SQLInputValue;
}

function fromRow(row: Record<string, SQLInputValue>): SessionRecord {
  const out: Record<string, unknown> = {};
  for (const [field, column, kind] of COLUMNS) {
    const v = row[column];
    if (v === null || v === undefined) {
      // exitCode null is meaningful ("finished without an exit code"); other nulls are absent fields.
      if (field === 'exitCode' && row.state === 'ended') out[field] = null;
      continue;
    }
    out[field] =
      kind === 'json'
        ? JSON.parse(String(v))
        : kind === 'bool'
          ? v === 1 || v === 1n
          : kind === 'int'
            ? Number(v)
            : v;
  }
  return out as unknown as SessionRecord;
}
