import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditedExecError } from '../../../common/errors.ts';
import { recordingPath } from '../../../server/recording/writer.ts';
import { DirectoryObjectStore } from '../../../server/storage/directory-store.ts';
import { cachedRecordingPath, recordingKey } from '../../../server/storage/recording-object.ts';
import { RecordingReader } from '../../../server/storage/recording-reader.ts';
import { CountingStore } from './counting-store.ts';

describe('RecordingReader', () => {
  let root: string;
  let dataDir: string;
  let store: CountingStore;
  let reader: RecordingReader;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'reader-'));
    dataDir = join(root, 'data');
    store = new CountingStore(new DirectoryObjectStore(join(root, 'objects')));
    reader = new RecordingReader({ dataDir, store });
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('answers the replica’s own recording without asking the store', async () => {
    const id = randomUUID();
    await mkdir(join(dataDir, 'recordings'), { recursive: true });
    await writeFile(recordingPath(dataDir, id), 'own');
    await store.put(recordingKey(id), 'stored');
    expect(await reader.localPath(id)).toBe(recordingPath(dataDir, id));
    expect(store.calls.download).toBe(0);
  });

  it('downloads a recording it does not hold into the cache, once', async () => {
    const id = randomUUID();
    await store.put(recordingKey(id), 'from another replica');
    const path = await reader.localPath(id);
    expect(path).toBe(cachedRecordingPath(dataDir, id));
    expect(await readFile(path!, 'utf8')).toBe('from another replica');
    expect(await new RecordingReader({ dataDir, store }).localPath(id)).toBe(path);
    expect(store.calls.download).toBe(1);
    expect(await readdir(join(dataDir, 'cache', 'recordings'))).toEqual([`${id}.cast`]);
  });

  it('shares one download among requests for the same recording', async () => {
    const id = randomUUID();
    await store.put(recordingKey(id), 'x'.repeat(1 << 20));
    const paths = await Promise.all(Array.from({ length: 5 }, () => reader.localPath(id)));
    expect(new Set(paths)).toEqual(new Set([cachedRecordingPath(dataDir, id)]));
    expect(store.calls.download).toBe(1);
  });

  it('answers null when no one has it, and asks the store again next time', async () => {
    const id = randomUUID();
    expect(await reader.localPath(id)).toBeNull();
    await store.put(recordingKey(id), 'arrived later');
    expect(await readFile((await reader.localPath(id))!, 'utf8')).toBe('arrived later');
    expect(store.calls.download).toBe(2);
  });

  it('passes a store failure on by its code, and tries again on the next request', async () => {
    const id = randomUUID();
    let down = true;
    const flaky = new CountingStore(store);
    flaky.download = async (key, path) => {
      if (down) throw new AuditedExecError('STORAGE_UNAVAILABLE', 'the object store is down');
      return store.download(key, path);
    };
    const r = new RecordingReader({ dataDir, store: flaky });
    await store.put(recordingKey(id), 'later');
    await expect(r.localPath(id)).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    down = false;
    expect(await r.localPath(id)).toBe(cachedRecordingPath(dataDir, id));
  });

  it('refuses an id that is not a session id, and evicts a cached copy', async () => {
    await expect(reader.localPath('../../etc/passwd')).rejects.toMatchObject({ code: 'STORAGE_BAD_KEY' });
    const id = randomUUID();
    await store.put(recordingKey(id), 'x');
    await reader.localPath(id);
    await reader.evict(id);
    expect(await readdir(join(dataDir, 'cache', 'recordings'))).toEqual([]);
  });
});
