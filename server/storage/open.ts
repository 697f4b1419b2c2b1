// --object-store → the engine: s3://bucket/prefix (with --s3-endpoint and --s3-region for a store
// other than AWS; credentials from the SDK's usual sources, e.g. AWS_ACCESS_KEY_ID), or a directory
// every replica mounts. Absent: recordings and bundles stay on this replica's data dir.
import { AuditedExecError } from '../../common/errors.ts';
import type { Settings } from '../config.ts';
import { DirectoryObjectStore } from './directory-store.ts';
import type { ObjectStore } from './object-store.ts';
import { S3ObjectStore } from './s3-store.ts';

export function openObjectStore(
  settings: Pick<Settings, 'objectStore' | 's3Endpoint' | 's3Region'>,
): ObjectStore | undefined {
  const where = settings.objectStore;
  if (where === undefined) return undefined;
  if (!where.startsWith('s3://')) return new DirectoryObjectStore(where);
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(where);
  if (!m) {
    throw new AuditedExecError('CONFIG_INVALID', `--object-store "${where}" is not s3://BUCKET[/PREFIX]`);
  }
  return new S3ObjectStore({
    bucket: m[1]!,
    prefix: (m[2] ?? '').replace(/\/+$/, ''),
    ...(settings.s3Region ? { region: settings.s3Region } : {}),
    // Ceph RGW and MinIO answer path-style requests; AWS takes both.
    ...(settings.s3Endpoint ? { endpoint: settings.s3Endpoint, forcePathStyle: true } : {}),
  });
}
