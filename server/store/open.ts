// Chooses the storage engine from the `database` setting: none → the embedded SQLite store in the
// data directory (one recorder); postgres://… → the PostgreSQL store several replicas share.
import { join } from 'node:path';
import { AuditedExecError } from '../../common/errors.ts';
import { DirectoryObjectStore } from '../storage/directory-store.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { PgStore } from './pg/store.ts';
import { SqliteStore } from './sqlite.ts';
import type { RecorderStore } from './store.ts';

export interface OpenStoreOptions {
  /** undefined: SQLite in dataDir; postgres://user:password@host:port/db (or postgresql://): PostgreSQL. */
  database?: string | undefined;
  /** The replica's own data directory (SQLite's database and evidence; PostgreSQL's bundle cache). */
  dataDir: string;
  /** PostgreSQL only: where evidence bundles go, shared by every replica. Default: <dataDir>/objects,
   *  which only one replica sees: several replicas need a shared one (S3, a shared volume). */
  objects?: ObjectStore | undefined;
  /** SQLite only: frees disk space when a write finds the disk full (DiskReserve.release). */
  onDiskFull?: (() => boolean) | undefined;
  log?: ((line: string) => void) | undefined;
}

export async function openStore(options: OpenStoreOptions): Promise<RecorderStore> {
  const { database, dataDir, log } = options;
  if (database === undefined) {
    return new SqliteStore({ dataDir, onDiskFull: options.onDiskFull, log });
  }
  if (!/^postgres(ql)?:\/\//.test(database)) {
    throw new AuditedExecError(
      'CONFIG_INVALID',
      '--database must be a postgres:// URL (postgres://user:password@host:5432/db); leave it out for the embedded store',
    );
  }
  return PgStore.open({
    url: database,
    objects: options.objects ?? new DirectoryObjectStore(join(dataDir, 'objects')),
    cacheDir: join(dataDir, 'cache', 'evidence'),
    log,
  });
}
