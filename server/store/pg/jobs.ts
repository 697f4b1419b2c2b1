// Job locks across replicas (JobLock, ../store.ts): a session-level advisory lock, tried (never
// waited for) on a connection of its own that is held while the job runs. The lock goes with the
// connection: a replica that dies mid-job frees it, and the next replica's turn runs the job.
import type { JobLock } from '../store.ts';
import { lockKey, type PgDatabase } from './db.ts';

export class PgJobLock implements JobLock {
  readonly #db: PgDatabase;

  constructor(db: PgDatabase) {
    this.#db = db;
  }

  async exclusive<T>(name: string, fn: () => Promise<T>): Promise<{ ran: true; value: T } | { ran: false }> {
    const key = lockKey(`job:${name}`);
    const client = await this.#db.pool.connect();
    let broken: Error | undefined;
    try {
      const { rows } = await client.query('SELECT pg_try_advisory_lock($1::bigint) AS got', [key]);
      if (!rows[0]?.got) return { ran: false };
      try {
        return { ran: true, value: await fn() };
      } finally {
        await client.query('SELECT pg_advisory_unlock($1::bigint)', [key]).catch((err: Error) => {
          // A connection that cannot unlock is closed below, which frees the lock.
          broken = err;
        });
      }
    } finally {
      client.release(broken);
    }
  }
}
