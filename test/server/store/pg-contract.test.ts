// The PostgreSQL engine against the storage contract suite (contract/), on a real PostgreSQL
// (test/support/postgres.ts): one server for this file, a fresh database per store opened.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe } from 'vitest';
import { DirectoryObjectStore } from '../../../server/storage/directory-store.ts';
import { PgStore } from '../../../server/store/pg/store.ts';
import type { RecorderStore } from '../../../server/store/store.ts';
import { usePostgres } from '../../support/postgres.ts';
import { skipE2E } from '../../support/prereq.ts';
import { describeStoreContract } from './contract/index.ts';

describe.skipIf(skipE2E('PostgreSQL store contract', 'postgres'))('postgres', () => {
  const pg = usePostgres();
  describeStoreContract('postgres', {
    async open() {
      const url = await pg.server.createDatabase();
      const dir = mkdtempSync(join(tmpdir(), 'ae-pg-contract-'));
      const objects = new DirectoryObjectStore(join(dir, 'objects'));
      const stores: RecorderStore[] = [];
      // Each store is a replica: its own bundle cache, the object store and database shared.
      const open = async () => {
        const store = await PgStore.open({ url, objects, cacheDir: join(dir, `cache-${stores.length}`) });
        stores.push(store);
        return store;
      };
      return {
        store: await open(),
        sibling: open,
        async dispose() {
          for (const s of stores) await s.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  });
});
