// Failed sign-ins per address in PostgreSQL (SignInFailureStore, ../../ui/sign-in-limit.ts), so
// replicas count together. Bounded like the memory store: an address keeps its latest `keep`
// failures, and failures older than forgetAfterMs (well beyond any throttle window) are dropped.
import type { SignInFailureStore } from '../../ui/sign-in-limit.ts';
import type { PgDatabase } from './db.ts';

export class PgSignInFailures implements SignInFailureStore {
  readonly #db: PgDatabase;
  readonly #forgetAfterMs: number;

  constructor(db: PgDatabase, options: { forgetAfterMs?: number } = {}) {
    this.#db = db;
    this.#forgetAfterMs = options.forgetAfterMs ?? 24 * 3600_000;
  }

  async recent(address: string, since: number): Promise<number[]> {
    const { rows } = await this.#db.query(
      'SELECT at FROM sign_in_failures WHERE address = $1 AND at > $2 ORDER BY at, id',
      [address, since],
    );
    return rows.map((r) => Number(r.at));
  }

  async add(address: string, at: number, keep: number): Promise<void> {
    await this.#db.transaction(async (c) => {
      await c.query('INSERT INTO sign_in_failures (address, at) VALUES ($1, $2)', [address, at]);
      await c.query(
        `DELETE FROM sign_in_failures WHERE address = $1 AND id NOT IN (
           SELECT id FROM sign_in_failures WHERE address = $1 ORDER BY at DESC, id DESC LIMIT $2)`,
        [address, Math.max(0, keep)],
      );
      await c.query('DELETE FROM sign_in_failures WHERE at < $1', [at - this.#forgetAfterMs]);
    });
  }

  async clear(address: string): Promise<void> {
    await this.#db.query('DELETE FROM sign_in_failures WHERE address = $1', [address]);
  }
}
