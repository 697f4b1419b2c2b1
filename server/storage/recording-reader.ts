// A session's recording as a local file, on whichever replica is asked: the replica's own file when
// it recorded the session, else a copy downloaded from the object store into
// <dataDir>/cache/recordings/<id>.cast (atomically, so a reader never sees part of it). Requests
// for the same recording while it downloads share the one download.
//
// An object in the store is final (the uploader puts a recording once it is finished), so a cached
// copy never goes stale; evict() removes one whose session was deleted.
import { access, rm, stat } from 'node:fs/promises';
import { recordingPath } from '../recording/writer.ts';
import type { ObjectStore } from './object-store.ts';
import { cachedRecordingPath, recordingKey } from './recording-object.ts';

export interface RecordingReaderOptions {
  /** The recorder's data dir: its own recordings, and cache/ for downloaded ones. */
  dataDir: string;
  store: ObjectStore;
}

export class RecordingReader {
  readonly #o: RecordingReaderOptions;
  readonly #downloads = new Map<string, Promise<string | null>>();

  constructor(options: RecordingReaderOptions) {
    this.#o = options;
  }

  /**
   * The path of a local file holding the recording, or null when neither this replica nor the
   * object store has it. Store failures throw (STORAGE_UNAVAILABLE from the S3 engine).
   */
  async localPath(id: string): Promise<string | null> {
    const own = recordingPath(this.#o.dataDir, id);
    // An empty file is a reservation this replica made for a session whose stream another
    // replica opened and recorded: that one's recording is the session's.
    if (await nonEmpty(own)) return own;
    const cached = cachedRecordingPath(this.#o.dataDir, id);
    if (await exists(cached)) return cached;
    let download = this.#downloads.get(id);
    if (!download) {
      download = this.#o.store
        .download(recordingKey(id), cached)
        .then((found) => (found ? cached : null))
        .finally(() => this.#downloads.delete(id));
      this.#downloads.set(id, download);
    }
    return download;
  }

  /** Drops the downloaded copy (the session's recording was deleted). */
  async evict(id: string): Promise<void> {
    await rm(cachedRecordingPath(this.#o.dataDir, id), { force: true });
  }
}

async function nonEmpty(path: string): Promise<boolean> {
  try {
    return (await stat(path)).size > 0;
  } catch {
    return false;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
