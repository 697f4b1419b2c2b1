// The PostgreSQL engine's connection pool, its schema steps and the advisory-lock keys. Several
// replicas start against one database at once: schema steps are applied under one advisory lock,
// so exactly one of them applies each step and the others find it done. Only the PostgreSQL stores
// of this folder hold the pool; the recorder reaches state through the interfaces (../store.ts).
import { createHash } from 'node:crypto';
import pg from 'pg';
import { StoreError } from '../errors.ts';

/** A schema step, applied once, in its own transaction; ids order nothing, the list does. */
export interface PgMigration {
  id: string;
  sql: string;
}

export type Queryable = Pick<pg.PoolClient, 'query'>;

/** A signed 64-bit advisory-lock key for a name (the first 8 bytes of its SHA-256), as a string
 *  PostgreSQL reads as bigint; the same name gives the same key on every replica. */
export function lockKey(name: string): string {
  return createHash('sha256').update(`audited-exec:${name}`).digest().readBigInt64BE(0).toString();
}

const MIGRATION_LOCK = lockKey('schema-migrations');

export interface PgDatabaseOptions {
  /** postgres://user:password@host:port/database?… */
  url: string;
  /** Connections this replica opens at most. */
  maxConnections?: number;
  log?: (line: string) => void;
}

export class PgDatabase {
  readonly pool: pg.Pool;
  /** host:port/database, for sentences (never the password). */
  readonly where: string;

  constructor(options: PgDatabaseOptions) {
    const log = options.log ?? (() => {});
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.maxConnections ?? 10,
      connectionTimeoutMillis: 10_000,
    });
    // A connection the server closed (restart, failover) must not end the process: idle ones are
    // reported by the pool, checked-out ones (a job holding its lock) by the client itself; the
    // query in flight, if any, fails on its own.
    const failed = (err: Error) => log(`store: a PostgreSQL connection failed: ${err.message}`);
    this.pool.on('error', failed);
    this.pool.on('connect', (client) => client.on('error', failed));
    const u = new URL(options.url);
    this.where = `${u.hostname}:${u.port || 5432}${u.pathname}`;
  }

  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    sql: string,
    params: unknown[] = [],
  ): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>(sql, params);
    } catch (err) {
      throw this.#unavailable(err);
    }
  }

  /** Runs `fn` in one transaction on one connection; rolls back when it throws. */
  async transaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect().catch((err) => {
      throw this.#unavailable(err);
    });
    try {
      await client.query('BEGIN');
      const out = await fn(client);
      await client.query('COMMIT');
      return out;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  /** A failure to reach the database as STORE_UNAVAILABLE with one sentence (the caller fails
   *  closed: 503, readiness false); any other error as it is. */
  #unavailable(err: unknown): unknown {
    if (!isConnectionFailure(err)) return err;
    const why = err instanceof Error ? err.message : String(err);
    return new StoreError(
      'STORE_UNAVAILABLE',
      `the recorder's database ${this.where} does not answer (${why})`,
      {
        cause: err,
      },
    );
  }

  /** Applies each step not yet recorded, under the migration lock, each in its own transaction. */
  async migrate(migrations: readonly PgMigration[]): Promise<number> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await client.query('SELECT pg_advisory_lock($1::bigint)', [MIGRATION_LOCK]);
      try {
        await client.query(
          'CREATE TABLE IF NOT EXISTS schema_migrations (id text PRIMARY KEY, applied_at timestamptz NOT NULL)',
        );
        const done = new Set((await client.query('SELECT id FROM schema_migrations')).rows.map((r) => r.id));
        let applied = 0;
        for (const m of migrations) {
          if (done.has(m.id)) continue;
          await client.query('BEGIN');
          try {
            await client.query(m.sql);
            await client.query('INSERT INTO schema_migrations (id, applied_at) VALUES ($1, now())', [m.id]);
            await client.query('COMMIT');
          } catch (err) {
            await client.query('ROLLBACK').catch(() => {});
            throw err;
          }
          applied++;
        }
        return applied;
      } finally {
        // A connection that cannot unlock is closed below, which frees the lock.
        await client.query('SELECT pg_advisory_unlock($1::bigint)', [MIGRATION_LOCK]).catch((err: Error) => {
          broken = err;
        });
      }
    } finally {
      client.release(broken);
    }
  }

  /** Undefined when the database answers a query within `timeoutMs`; else one sentence why not. */
  async problem(timeoutMs = 3000): Promise<string | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve(`no answer within ${timeoutMs} ms`), timeoutMs);
    });
    const answer = this.pool.query('SELECT 1').then(
      () => undefined,
      (err: Error) => err.message,
    );
    try {
      const why = await Promise.race([answer, late]);
      return why === undefined
        ? undefined
        : `the PostgreSQL database at ${this.where} does not answer (${why})`;
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    if (!this.pool.ended) await this.pool.end();
  }
}

/** SQLSTATE classes and errors that mean the database cannot be reached, not that a statement failed. */
const CONNECTION_STATES = /^(08|57P0[1-3]|53300)/;
const NETWORK = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EPIPE',
]);

export function isConnectionFailure(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && (NETWORK.has(code) || CONNECTION_STATES.test(code))) return true;
  const message = err instanceof Error ? err.message : '';
  // node-postgres's own words for a connection that ended or never came
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/.test(
    message,
  );
}
