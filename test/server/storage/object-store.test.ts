// The ObjectStore contract against both engines: a directory, and S3 on a real Ceph RGW.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ListMultipartUploadsCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DirectoryObjectStore } from '../../../server/storage/directory-store.ts';
import { S3ObjectStore, type S3StoreOptions } from '../../../server/storage/s3-store.ts';
import { type CephRgw, RGW_START_TIMEOUT_MS, skipRgw, startCephRgw } from '../../support/ceph-rgw.ts';
import { objectStoreContract } from './object-store-contract.ts';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

objectStoreContract('directory', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'objstore-'));
  dirs.push(dir);
  return new DirectoryObjectStore(join(dir, 'objects'));
});

describe.skipIf(skipRgw('S3 object store on Ceph RGW'))('S3 object store on Ceph RGW', () => {
  let rgw: CephRgw;
  let bucket: string;
  const stores: S3ObjectStore[] = [];
  let n = 0;
  const s3 = (o: Partial<S3StoreOptions> = {}): S3ObjectStore => {
    const store = new S3ObjectStore({
      endpoint: rgw.endpoint,
      region: rgw.region,
      bucket,
      forcePathStyle: true,
      credentials: { accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey },
      partSize: 5 * 1024 * 1024,
      ...o,
    });
    stores.push(store);
    return store;
  };

  beforeAll(async () => {
    rgw = await startCephRgw();
    bucket = await rgw.createBucket();
  }, RGW_START_TIMEOUT_MS);
  afterAll(async () => {
    for (const s of stores) s.close();
    await rgw?.stop();
  }, 60_000);

  // Each test its own prefix in the one bucket: a fresh, empty store without a new bucket.
  objectStoreContract('S3 (Ceph RGW)', async () => s3({ prefix: `t${++n}/objects` }));

  it('keeps stores with different prefixes apart', async () => {
    const a = s3({ prefix: 'apart/a' });
    const b = s3({ prefix: 'apart/b/' });
    await a.put('recordings/x.cast', 'a');
    expect(await b.size('recordings/x.cast')).toBeNull();
    const keys: string[] = [];
    for await (const k of s3({ prefix: 'apart' }).list('')) keys.push(k);
    expect(keys).toEqual(['a/recordings/x.cast']);
  });

  it('aborts a multipart upload whose source failed, leaving no parts behind', async () => {
    const store = s3({ prefix: 'aborted' });
    let sent = 0;
    const source = new Readable({
      read() {
        if (sent >= 11 * 1024 * 1024) return void this.destroy(new Error('source broke'));
        sent += 1024 * 1024;
        this.push(Buffer.alloc(1024 * 1024, 1));
      },
    });
    await expect(store.put('big', source)).rejects.toThrow('source broke');
    const client = new S3Client({
      endpoint: rgw.endpoint,
      region: rgw.region,
      forcePathStyle: true,
      credentials: { accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey },
    });
    try {
      const open = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: 'aborted/' }));
      expect(open.Uploads ?? []).toEqual([]);
    } finally {
      client.destroy();
    }
  });

  it('says in one sentence why a missing bucket, bad keys or a closed port cannot be used', async () => {
    expect(await s3({ bucket: 'no-such-bucket' }).check()).toMatch(/no-such-bucket.*does not exist/);
    const wrongKeys = s3({ credentials: { accessKeyId: 'nobody', secretAccessKey: 'wrong' } });
    expect(await wrongKeys.check()).toMatch(/access denied/);
    const closed = s3({ endpoint: 'http://127.0.0.1:9', connectionTimeoutMs: 1000 });
    expect(await closed.check()).toMatch(/^the object store s3:\/\/.* cannot be used: ECONNREFUSED$/);
  });

  it('fails with STORAGE_UNAVAILABLE, never a bare SDK error, when the store is down', async () => {
    const closed = s3({ endpoint: 'http://127.0.0.1:9', connectionTimeoutMs: 1000 });
    await expect(closed.put('k', 'x')).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    await expect(closed.size('k')).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    await expect(closed.read('k')).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    await expect(closed.download('k', join(tmpdir(), 'never'))).rejects.toMatchObject({
      code: 'STORAGE_UNAVAILABLE',
    });
    await expect(closed.delete('k')).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    const listing = async () => {
      for await (const _ of closed.list('')) break;
    };
    await expect(listing()).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
  });
});
