// Where reads find a recording, and what retention leaves behind: nothing, on any replica.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { recordingPath } from '../../../server/recording/writer.ts';
import { DirectoryObjectStore } from '../../../server/storage/directory-store.ts';
import { RecordingFiles } from '../../../server/storage/recording-files.ts';
import { cachedRecordingPath, recordingKey } from '../../../server/storage/recording-object.ts';

const KEPT = '0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9';
const GONE = '1f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9';
const ELSEWHERE = '2f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9';

describe('recording files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'recording-files-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const objects = new DirectoryObjectStore(join(dir, 'bucket'));
  const replica = join(dir, 'replica');
  const files = new RecordingFiles({ dataDir: replica, objects });
  const write = (path: string, text: string) => {
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, text);
  };

  it("reads this replica's own file, else the shared copy, and an empty reservation is not a recording", async () => {
    write(recordingPath(replica, KEPT), '{"version":2}\n');
    expect(await files.pathFor(KEPT)).toBe(recordingPath(replica, KEPT));
    // created here, streamed and recorded by another replica: the shared object is the recording
    write(recordingPath(replica, ELSEWHERE), '');
    await objects.put(recordingKey(ELSEWHERE), '{"version":2,"from":"r2"}\n');
    expect(await files.pathFor(ELSEWHERE)).toBe(cachedRecordingPath(replica, ELSEWHERE));
  });

  it('clears local copies of sessions the store no longer has, and keeps the others', async () => {
    write(recordingPath(replica, GONE), '{"version":2}\n');
    write(cachedRecordingPath(replica, GONE), '{"version":2}\n');
    write(join(replica, 'recordings', 'notes.txt'), 'not a recording');
    const removed = await files.pruneLocal(async (id) => id !== GONE);
    expect(removed).toBe(2);
    expect(existsSync(recordingPath(replica, GONE))).toBe(false);
    expect(existsSync(cachedRecordingPath(replica, GONE))).toBe(false);
    expect(existsSync(recordingPath(replica, KEPT))).toBe(true);
    expect(existsSync(cachedRecordingPath(replica, ELSEWHERE))).toBe(true);
    expect(existsSync(join(replica, 'recordings', 'notes.txt'))).toBe(true);
  });

  it('delete removes every copy this replica can reach: its file, its cache and the shared object', async () => {
    await files.delete(ELSEWHERE);
    expect(existsSync(cachedRecordingPath(replica, ELSEWHERE))).toBe(false);
    expect(await objects.size(recordingKey(ELSEWHERE))).toBeNull();
  });
});
