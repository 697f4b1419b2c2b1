// openStore: the `database` setting chooses the engine.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../../server/store/open.ts';
import { PgStore } from '../../../server/store/pg/store.ts';
import { SqliteStore } from '../../../server/store/sqlite.ts';
import { usePostgres } from '../../support/postgres.ts';
import { skipE2E } from '../../support/prereq.ts';

let dir: string;
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0)) await f();
});
const dataDir = () => {
  dir = mkdtempSync(join(tmpdir(), 'ae-open-store-'));
  cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
  return dir;
};

describe('openStore', () => {
  it('opens the embedded store in the data directory when no database is named', async () => {
    const store = await openStore({ dataDir: dataDir() });
    cleanup.unshift(() => store.close());
    expect(store).toBeInstanceOf(SqliteStore);
  });

  it('refuses a database that is not a postgres:// URL, by code', async () => {
    await expect(openStore({ dataDir: dataDir(), database: 'mysql://db/x' })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
    });
  });
});

describe.skipIf(skipE2E('openStore with PostgreSQL', 'postgres'))('openStore with PostgreSQL', () => {
  const pg = usePostgres();
  it('opens the PostgreSQL store for a postgres:// URL', async () => {
    const store = await openStore({ dataDir: dataDir(), database: await pg.server.createDatabase() });
    cleanup.unshift(() => store.close());
    expect(store).toBeInstanceOf(PgStore);
    expect(await store.readiness()).toBeUndefined();
  });
});
