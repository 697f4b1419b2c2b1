// The uploader's journal on the replica's own volume: one small file per recording that must still
// reach the object store, <dataDir>/uploads/<id>.json. It is written (and synced) when the
// recording starts, and removed only once the object is known to be in the store, so a replica
// killed before or while uploading finds on its next start everything it still owes.
import { type FileHandle, mkdir, open, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isSessionId } from '../../common/session-marker.ts';
import { recordingKey } from './recording-object.ts';

export const UPLOADS_DIR = 'uploads';

export class UploadJournal {
  readonly #dir: string;

  constructor(dataDir: string) {
    this.#dir = join(dataDir, UPLOADS_DIR);
  }

  /**
   * Notes, durably, that the recording must be uploaded; an id noted already keeps its entry. The
   * file's existence is the note (its words are for people), so a crash mid-write loses nothing.
   */
  async add(id: string, since: Date): Promise<void> {
    const entry = `${JSON.stringify({ key: recordingKey(id), since: since.toISOString() })}\n`;
    await mkdir(this.#dir, { recursive: true });
    let fh: FileHandle;
    try {
      fh = await open(this.#path(id), 'wx', 0o640);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return;
      throw err;
    }
    try {
      await fh.writeFile(entry);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await syncDir(this.#dir);
  }

  async remove(id: string): Promise<void> {
    await rm(this.#path(id), { force: true });
  }

  /** Every id in the journal. */
  async ids(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.#dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    return names
      .filter((n) => n.endsWith('.json'))
      .map((n) => n.slice(0, -5))
      .filter(isSessionId);
  }

  #path(id: string): string {
    recordingKey(id); // refuses what is not a session id
    return join(this.#dir, `${id}.json`);
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
