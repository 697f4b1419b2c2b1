// The embedded engine against the storage contract suite (contract/): the same suite the
// PostgreSQL store runs with its own factory (pg-contract.test.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../../server/store/sqlite.ts';
import { describeStoreContract } from './contract/index.ts';

describeStoreContract('sqlite', {
  async open() {
    const dir = mkdtempSync(join(tmpdir(), 'ae-store-contract-'));
    const stores = [new SqliteStore({ dataDir: dir })];
    return {
      store: stores[0]!,
      async sibling() {
        const another = new SqliteStore({ dataDir: dir });
        stores.push(another);
        return another;
      },
      async dispose() {
        for (const s of stores) await s.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
});
