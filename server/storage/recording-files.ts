// Where a session's recording is, as a local file, for everything that reads one (the API, the
// web UI, evidence): this replica's own file, or with an object store, the copy every replica can
// fetch (storage/recording-reader.ts). Deleting one (retention) removes every copy.
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isSessionId } from '../../common/session-marker.ts';
import { RECORDINGS_DIR, recordingPath } from '../recording/writer.ts';
import type { ObjectStore } from './object-store.ts';
import { recordingKey } from './recording-object.ts';
import { RecordingReader } from './recording-reader.ts';

export class RecordingFiles {
  readonly #dataDir: string;
  readonly #objects: ObjectStore | undefined;
  readonly #reader: RecordingReader | undefined;

  constructor(o: { dataDir: string; objects?: ObjectStore | undefined }) {
    this.#dataDir = o.dataDir;
    this.#objects = o.objects;
    this.#reader = o.objects ? new RecordingReader({ dataDir: o.dataDir, store: o.objects }) : undefined;
  }

  /** A local path holding the recording; this replica's own path (perhaps absent or empty) when no
   *  copy exists anywhere, so callers answer "no recording" as they would with one replica. */
  async pathFor(id: string): Promise<string> {
    return (await this.#reader?.localPath(id)) ?? recordingPath(this.#dataDir, id);
  }

  /**
   * Removes this replica's copies (its own recordings, its cached downloads) of sessions the store
   * no longer has: retention runs on one replica and deletes that one's files and the shared
   * object; each replica clears its own. Returns how many files went.
   */
  async pruneLocal(exists: (id: string) => Promise<boolean>): Promise<number> {
    let removed = 0;
    for (const dir of [join(this.#dataDir, RECORDINGS_DIR), join(this.#dataDir, 'cache', RECORDINGS_DIR)]) {
      for (const name of await readdir(dir).catch(() => [] as string[])) {
        const id = name.endsWith('.cast') ? name.slice(0, -'.cast'.length) : '';
        if (!isSessionId(id) || (await exists(id))) continue;
        await rm(join(dir, name), { force: true });
        removed++;
      }
    }
    return removed;
  }

  /** Removes the recording: this replica's file, its cached copy and the shared object (the other
   *  replicas clear their own copies: pruneLocal). */
  async delete(id: string): Promise<void> {
    await rm(recordingPath(this.#dataDir, id), { force: true });
    await this.#reader?.evict(id);
    await this.#objects?.delete(recordingKey(id));
  }
}
