// The recording uploader and its completer against a real S3 server (Ceph RGW): uploads once,
// completes what a killed run left exactly once, and outlasts a bucket that is down.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { access, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Readable, Transform } from 'node:stream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { recordingPath } from '../../../server/recording/writer.ts';
import { recordingKey } from '../../../server/storage/recording-object.ts';
import {
  RecordingUploader,
  type RecordingUploaderOptions,
} from '../../../server/storage/recording-uploader.ts';
import { S3ObjectStore } from '../../../server/storage/s3-store.ts';
import { type CephRgw, RGW_START_TIMEOUT_MS, skipRgw, startCephRgw } from '../../support/ceph-rgw.ts';
import { type CutProxy, startCutProxy } from '../../support/fault-proxy.ts';
import { CountingStore } from './counting-store.ts';
import { bytesOf } from './object-store-contract.ts';

const MiB = 1024 * 1024;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe.skipIf(skipRgw('recording uploader on Ceph RGW'))('recording uploader on Ceph RGW', () => {
  let rgw: CephRgw;
  let bucket: string;
  let root: string;
  let dataDir: string;
  let store: S3ObjectStore;
  const closers: (() => unknown)[] = [];

  const s3 = (endpoint = rgw.endpoint): S3ObjectStore => {
    const s = new S3ObjectStore({
      endpoint,
      region: rgw.region,
      bucket,
      prefix: `t-${randomUUID()}`,
      forcePathStyle: true,
      credentials: { accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey },
      partSize: 5 * MiB,
      connectionTimeoutMs: 1000,
    });
    closers.push(() => s.close());
    return s;
  };
  const uploader = (o: Partial<RecordingUploaderOptions> = {}): RecordingUploader => {
    const u = new RecordingUploader({ dataDir, store, retry: { initialMs: 50, maxMs: 400 }, ...o });
    closers.push(() => u.stop());
    return u;
  };
  /** A finished recording of `size` random bytes on this replica's volume. */
  const recording = async (size: number): Promise<{ id: string; digest: string }> => {
    const id = randomUUID();
    const body = randomBytes(size);
    await mkdir(join(dataDir, 'recordings'), { recursive: true });
    await writeFile(recordingPath(dataDir, id), body);
    return { id, digest: sha256(body) };
  };
  const stored = async (s: S3ObjectStore, id: string): Promise<string | null> => {
    const body = await s.read(recordingKey(id));
    return body ? sha256(await bytesOf(body)) : null;
  };
  const journal = () => readdir(join(dataDir, 'uploads')).catch(() => []);

  beforeAll(async () => {
    rgw = await startCephRgw();
    bucket = await rgw.createBucket();
  }, RGW_START_TIMEOUT_MS);
  afterAll(async () => {
    await rgw?.stop();
  }, 60_000);
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'uploader-'));
    dataDir = join(root, 'data');
    store = s3();
  });
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
    await rm(root, { recursive: true, force: true });
  });

  it('uploads a finished recording once, keeps the local file and empties the journal', async () => {
    const { id, digest } = await recording(100_000);
    const counting = new CountingStore(store);
    const u = uploader({ store: counting });
    await u.begin(id);
    u.start();
    await u.flush();
    expect(await stored(store, id)).toBeNull(); // still being recorded
    expect(await journal()).toEqual([`${id}.json`]);
    await u.finish(id);
    await u.flush();
    expect(await stored(store, id)).toBe(digest);
    expect(u.counters).toMatchObject({ pending: 0, failures: 0, uploaded: 1 });
    expect(await journal()).toEqual([]);
    await access(recordingPath(dataDir, id));
    await u.flush();
    expect(counting.calls.put).toBe(1);
  });

  it('does not put again what a run killed after its upload (but before its journal caught up) left', async () => {
    const { id, digest } = await recording(20_000);
    await store.put(recordingKey(id), await readFile(recordingPath(dataDir, id)));
    await uploader().begin(id); // the journal entry a killed run left behind
    const counting = new CountingStore(store);
    const next = uploader({ store: counting });
    next.start();
    await next.flush();
    expect(counting.calls.put).toBe(0);
    expect(await journal()).toEqual([]);
    expect(await stored(store, id)).toBe(digest);
  });

  it('uploads on its next start a recording a killed run was still writing', async () => {
    const { id, digest } = await recording(30_000);
    const killed = uploader();
    await killed.begin(id);
    killed.start();
    await killed.stop();
    const next = uploader();
    next.start();
    await next.flush();
    expect(await stored(store, id)).toBe(digest);
    expect(next.counters.uploaded).toBe(1);
  });

  it('completes exactly once an upload killed part-way through', async () => {
    const { id, digest } = await recording(12 * MiB);
    // The first run stalls after 6 MiB (one 5 MiB part is in the store) until it is "killed".
    let stalled!: () => void;
    const atStall = new Promise<void>((r) => {
      stalled = r;
    });
    let kill!: (err: Error) => void;
    const killedAt = new Promise<never>((_, reject) => {
      kill = reject;
    });
    killedAt.catch(() => {});
    const stallAfter6MiB = (body: Readable): Readable => {
      let sent = 0;
      return body.pipe(
        new Transform({
          transform(chunk: Buffer, _enc, done) {
            sent += chunk.length;
            if (sent <= 6 * MiB) return done(null, chunk);
            stalled();
            killedAt.catch((err: Error) => done(err));
          },
        }),
      );
    };
    const first = uploader({ store: new CountingStore(store, stallAfter6MiB) });
    await first.finish(id);
    first.start();
    await atStall;

    const counting = new CountingStore(store);
    const next = uploader({ store: counting });
    next.start();
    await next.flush();
    expect(await stored(store, id)).toBe(digest);

    kill(new Error('killed'));
    await first.stop();
    expect(first.counters).toMatchObject({ failures: 1, uploaded: 0 });
    await next.flush();
    expect(counting.calls.put).toBe(1);
    expect(next.counters.uploaded).toBe(1);
    expect(await stored(store, id)).toBe(digest);
    expect(await journal()).toEqual([]);
  });

  describe('with the bucket down', () => {
    let proxy: CutProxy;
    beforeAll(async () => {
      proxy = await startCutProxy(rgw.endpoint);
    });
    afterAll(async () => {
      await proxy?.close();
    });

    it('keeps the local file, counts the failures and uploads once the bucket is back', async () => {
      proxy.refuse(true);
      const viaProxy = s3(proxy.url.replace('https:', 'http:'));
      const { id, digest } = await recording(50_000);
      const lines: string[] = [];
      const u = uploader({ store: viaProxy, log: (l) => lines.push(l) });
      await u.finish(id);
      u.start();
      await u.flush();
      expect(u.counters.failures).toBeGreaterThanOrEqual(1);
      expect(u.counters).toMatchObject({ pending: 1, uploaded: 0 });
      expect(lines[0]).toMatch(new RegExp(`recording ${id} not uploaded to s3://.*, retrying in \\d+ ms`));
      await access(recordingPath(dataDir, id));
      expect(await journal()).toEqual([`${id}.json`]);

      proxy.refuse(false);
      // No flush: the completer's own retry, after its back-off, uploads it.
      // Counted as uploaded once stored, and no longer pending once its journal entry is gone:
      // two steps of one completion, so both are waited for.
      await vi.waitFor(() => expect(u.counters).toMatchObject({ uploaded: 1, pending: 0 }), {
        timeout: 30_000,
        interval: 100,
      });
      expect(await stored(viaProxy, id)).toBe(digest);
      expect(await journal()).toEqual([]);
    });
  });
});
