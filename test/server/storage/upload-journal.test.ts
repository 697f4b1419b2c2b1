import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UploadJournal } from '../../../server/storage/upload-journal.ts';

describe('UploadJournal', () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'journal-'));
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('is empty before anything was noted, even without its directory', async () => {
    expect(await new UploadJournal(dataDir).ids()).toEqual([]);
  });

  it('keeps the first note of an id, and forgets it on remove', async () => {
    const journal = new UploadJournal(dataDir);
    const id = randomUUID();
    await journal.add(id, new Date('2026-01-01T00:00:00Z'));
    await journal.add(id, new Date('2026-02-02T00:00:00Z'));
    expect(await new UploadJournal(dataDir).ids()).toEqual([id]);
    const entry = JSON.parse(await readFile(join(dataDir, 'uploads', `${id}.json`), 'utf8'));
    expect(entry).toEqual({ key: `recordings/${id}.cast`, since: '2026-01-01T00:00:00.000Z' });
    await journal.remove(id);
    await journal.remove(id);
    expect(await journal.ids()).toEqual([]);
    expect(await readdir(join(dataDir, 'uploads'))).toEqual([]);
  });

  it('ignores files that are not a session id’s entry, and refuses ids that are not session ids', async () => {
    const journal = new UploadJournal(dataDir);
    await journal.add(randomUUID(), new Date());
    await writeFile(join(dataDir, 'uploads', 'notes.txt'), '');
    await writeFile(join(dataDir, 'uploads', '..json'), '');
    expect(await journal.ids()).toHaveLength(1);
    await expect(journal.add('../etc', new Date())).rejects.toMatchObject({ code: 'STORAGE_BAD_KEY' });
  });
});
