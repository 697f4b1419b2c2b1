// Where a session's recording is, as a local file, for everything that reads one (the API, the
// web UI, evidence): this replica's own file, or with an object store, the copy every replica can
// fetch (storage/recording-reader.ts). Deleting one (retention) removes every copy.
import { rm } from 'node:fs/promises';
import { recordingPath } from '../recording/writer.ts';
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

  /** Removes the recording: this replica's file, its cached copy and the shared object. */
  async delete(id: string): Promise<void> {
    await rm(recordingPath(this.#dataDir, id), { force: true });
    await this.#reader?.evict(id);
    await this.#objects?.delete(recordingKey(id));
  }
}
