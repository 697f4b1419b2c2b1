// The ObjectStore contract (server/storage/object-store.ts), for every engine: a test file calls
// objectStoreContract with a factory that hands each test a fresh, empty store.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ObjectStore } from '../../../server/storage/object-store.ts';

export type StoreFactory = () => Promise<ObjectStore>;

const BAD_KEYS = ['', '/a', 'a/', 'a//b', '../a', 'a/../b', 'a/./b', '.', 'a\\b'];

export async function bytesOf(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

async function listed(store: ObjectStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const k of store.list(prefix)) keys.push(k);
  return keys.sort();
}

/** A stream of `size` random bytes in 1 MiB chunks, with the digest of what it yields. */
function randomStream(size: number): { stream: Readable; digest: () => string } {
  const hash = createHash('sha256');
  let left = size;
  const stream = new Readable({
    read() {
      if (left === 0) return void this.push(null);
      const chunk = randomBytes(Math.min(left, 1024 * 1024));
      left -= chunk.length;
      hash.update(chunk);
      this.push(chunk);
    },
  });
  return { stream, digest: () => hash.digest('hex') };
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export function objectStoreContract(engine: string, make: StoreFactory): void {
  describe(`ObjectStore contract: ${engine}`, () => {
    let store: ObjectStore;
    let dir: string;

    beforeEach(async () => {
      store = await make();
      dir = await mkdtemp(join(tmpdir(), 'objstore-dl-'));
    });
    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('answers check() while it is usable', async () => {
      expect(await store.check()).toBeUndefined();
      expect(store.location).not.toBe('');
    });

    it('puts a string, bytes and a stream, and reads, sizes and downloads each', async () => {
      await store.put('a/string.txt', 'hello');
      await store.put('a/bytes.bin', new Uint8Array([1, 2, 3]));
      await store.put('b/stream.bin', Readable.from([Buffer.from('str'), Buffer.from('eam')]));
      expect((await bytesOf((await store.read('a/string.txt'))!)).toString()).toBe('hello');
      expect([...(await bytesOf((await store.read('a/bytes.bin'))!))]).toEqual([1, 2, 3]);
      expect(await store.size('b/stream.bin')).toBe(6);
      const path = join(dir, 'sub', 'x.bin');
      expect(await store.download('b/stream.bin', path)).toBe(true);
      expect(await readFile(path, 'utf8')).toBe('stream');
      expect(await readdir(join(dir, 'sub'))).toEqual(['x.bin']);
    });

    it('stores an empty object', async () => {
      await store.put('empty', '');
      expect(await store.size('empty')).toBe(0);
      expect((await bytesOf((await store.read('empty'))!)).length).toBe(0);
    });

    it('replaces an object on put', async () => {
      await store.put('k', 'first version, longer');
      await store.put('k', Readable.from([Buffer.from('second')]));
      expect(await store.size('k')).toBe(6);
      expect((await bytesOf((await store.read('k'))!)).toString()).toBe('second');
    });

    it('answers null, false and nothing for a missing key', async () => {
      expect(await store.read('no/such')).toBeNull();
      expect(await store.size('no/such')).toBeNull();
      const path = join(dir, 'absent.bin');
      expect(await store.download('no/such', path)).toBe(false);
      expect(await readdir(dir)).toEqual([]);
      await store.delete('no/such');
    });

    it('deletes an object', async () => {
      await store.put('gone', 'x');
      await store.delete('gone');
      expect(await store.size('gone')).toBeNull();
      expect(await listed(store, '')).toEqual([]);
    });

    it('lists every key under a prefix, nested ones too', async () => {
      for (const k of [
        'recordings/1.cast',
        'recordings/2.cast',
        'recordings/old/3.cast',
        'bundles/1.json',
        'rec',
      ]) {
        await store.put(k, k);
      }
      expect(await listed(store, 'recordings/')).toEqual([
        'recordings/1.cast',
        'recordings/2.cast',
        'recordings/old/3.cast',
      ]);
      expect(await listed(store, 'rec')).toEqual([
        'rec',
        'recordings/1.cast',
        'recordings/2.cast',
        'recordings/old/3.cast',
      ]);
      expect(await listed(store, 'recordings/old/')).toEqual(['recordings/old/3.cast']);
      expect(await listed(store, 'nothing/')).toEqual([]);
      expect(await listed(store, '')).toHaveLength(5);
    });

    it('refuses keys that are not relative paths, with STORAGE_BAD_KEY', async () => {
      for (const key of BAD_KEYS) {
        await expect(store.put(key, 'x'), key).rejects.toMatchObject({ code: 'STORAGE_BAD_KEY' });
        await expect(store.read(key), key).rejects.toMatchObject({ code: 'STORAGE_BAD_KEY' });
        await expect(store.size(key), key).rejects.toMatchObject({ code: 'STORAGE_BAD_KEY' });
        await expect(store.download(key, join(dir, 'f')), key).rejects.toMatchObject({
          code: 'STORAGE_BAD_KEY',
        });
        await expect(store.delete(key), key).rejects.toMatchObject({ code: 'STORAGE_BAD_KEY' });
      }
    });

    it('round-trips a 12 MiB stream byte for byte', async () => {
      const { stream, digest } = randomStream(12 * 1024 * 1024);
      await store.put('big/recording.cast', stream);
      const want = digest();
      expect(await store.size('big/recording.cast')).toBe(12 * 1024 * 1024);
      expect(sha256(await bytesOf((await store.read('big/recording.cast'))!))).toBe(want);
      const path = join(dir, 'big.cast');
      expect(await store.download('big/recording.cast', path)).toBe(true);
      expect(sha256(await readFile(path))).toBe(want);
    });

    it('leaves no part of an object whose stream failed, and keeps the one it would have replaced', async () => {
      await store.put('k', 'old');
      await expect(store.put('k', breaksAfter(6 * 1024 * 1024))).rejects.toThrow('source broke');
      await expect(store.put('fresh', breaksAfter(0))).rejects.toThrow('source broke');
      expect((await bytesOf((await store.read('k'))!)).toString()).toBe('old');
      expect(await store.size('fresh')).toBeNull();
      expect(await listed(store, '')).toEqual(['k']);
    });
  });
}

/** A source that fails once it has given `limit` bytes, as a disk read error would. */
function breaksAfter(limit: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= limit) return void this.destroy(new Error('source broke'));
      const chunk = randomBytes(1024 * 1024);
      sent += chunk.length;
      this.push(chunk);
    },
  });
}
