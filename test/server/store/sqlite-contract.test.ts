// The embedded engine against the storage contract suite (contract/): the same suite a PostgreSQL
// store runs with its own factory.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../../server/store/sqlite.ts';
import { describeStoreContract } from './contract/index.ts';

describeStoreContract('sqlite', {
  async open() {
    const dir = mkdtempSync(join(tmpdir(), 'ae-store-contract-'));
    const store = new SqliteStore({ dataDir: dir });
    return {
      store,
      async dispose() {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
});
