// A database that cannot be reached is STORE_UNAVAILABLE with one sentence (the recorder answers
// 503 and refuses new sessions), never an internal error; a statement that fails stays what it is.
import { describe, expect, it } from 'vitest';
import { isConnectionFailure, PgDatabase } from '../../../server/store/pg/db.ts';
import { freePort } from '../../support/ports.ts';

describe('PostgreSQL unreachable', () => {
  it('tells connection failures from failed statements', () => {
    expect(
      isConnectionFailure(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })),
    ).toBe(true);
    expect(isConnectionFailure(Object.assign(new Error('terminating connection'), { code: '57P01' }))).toBe(
      true,
    );
    expect(isConnectionFailure(Object.assign(new Error('connection failure'), { code: '08006' }))).toBe(true);
    expect(isConnectionFailure(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isConnectionFailure(Object.assign(new Error('duplicate key'), { code: '23505' }))).toBe(false);
    expect(isConnectionFailure(Object.assign(new Error('syntax error'), { code: '42601' }))).toBe(false);
  });

  it('a query and a transaction against a closed port fail with STORE_UNAVAILABLE, naming the database', async () => {
    const port = await freePort();
    const db = new PgDatabase({ url: `postgres://app@127.0.0.1:${port}/audit` });
    try {
      await expect(db.query('SELECT 1')).rejects.toMatchObject({
        code: 'STORE_UNAVAILABLE',
        message: expect.stringContaining(`127.0.0.1:${port}/audit does not answer`),
      });
      await expect(db.transaction(async (c) => c.query('SELECT 1'))).rejects.toMatchObject({
        code: 'STORE_UNAVAILABLE',
      });
    } finally {
      await db.pool.end();
    }
  });
});
