// Puts each session's finished recording into the object store as recordings/<id>.cast, so any
// replica can serve it. Write-before-forward holds: the recording is written on this replica's own
// volume first, and that file stays the source of truth until the object exists. The journal
// (upload-journal.ts) notes a recording when it starts; the entry goes only once the object is in
// the store at the local file's size, so nothing is uploaded twice once it is known to be there.
//
// The completer is the same loop: on start, and every rescan interval, it uploads every journaled
// recording not being recorded by this process now (finished, or left by a run that was killed). A
// store that is down fails the pass; the local files stay and the next pass waits longer each time
// (retryDelayMs). One upload at a time: a recorder's CPU and bandwidth belong to its sessions.
//
// Recordings are uploaded once finished, not while they grow.

import { createReadStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { errorMessage } from '../../common/errors.ts';
import { recordingPath } from '../recording/writer.ts';
import type { ObjectStore } from './object-store.ts';
import { recordingKey } from './recording-object.ts';
import { UploadJournal } from './upload-journal.ts';
import { dueUploads, type RetryPolicy, retryDelayMs, uploadStep } from './upload-plan.ts';

/** For /metrics: audited_exec_uploads_pending (gauge), audited_exec_upload_failures_total, …. */
export interface UploadCounters {
  /** Recordings finished (or left by an earlier run) and not yet in the store, as of the last look. */
  readonly pending: number;
  /** Upload attempts that failed since this uploader was made. */
  readonly failures: number;
  /** Recordings put into the store since this uploader was made. */
  readonly uploaded: number;
}

export interface RecordingUploaderOptions {
  /** The recorder's data dir: recordings/<id>.cast are read from it, uploads/ is the journal. */
  dataDir: string;
  store: ObjectStore;
  /** Keep the local file once it is uploaded (evidence and retention read it); default true. */
  keepLocal?: boolean;
  /** How often the completer looks at the journal when nothing fails; default 60 s. */
  rescanMs?: number;
  /** The wait after a failed attempt, doubling per failure in a row; default 1 s up to 5 min. */
  retry?: RetryPolicy;
  /** One line per failed attempt and per recording found lost. */
  log?: (line: string) => void;
}

const DEFAULTS = {
  keepLocal: true,
  rescanMs: 60_000,
  retry: { initialMs: 1_000, maxMs: 300_000 },
  log: (_line: string) => {},
};

export class RecordingUploader {
  readonly #o: Required<RecordingUploaderOptions>;
  readonly #journal: UploadJournal;
  /** Recordings this process is writing now: journaled, but not to be uploaded yet. */
  readonly #live = new Set<string>();
  readonly #failuresById = new Map<string, number>();
  readonly #pending = new Set<string>();
  readonly #counts = { failures: 0, uploaded: 0 };
  #failuresInARow = 0;
  #timer: NodeJS.Timeout | null = null;
  #pass: Promise<void> | null = null;
  #again = false;
  #started = false;
  #stopped = false;

  readonly counters: UploadCounters;

  constructor(options: RecordingUploaderOptions) {
    this.#o = { ...DEFAULTS, ...options };
    this.#journal = new UploadJournal(this.#o.dataDir);
    const pending = this.#pending;
    const counts = this.#counts;
    this.counters = {
      get pending() {
        return pending.size;
      },
      get failures() {
        return counts.failures;
      },
      get uploaded() {
        return counts.uploaded;
      },
    };
  }

  /** A recording starts: journal it, so a crash before it is uploaded still leaves the note. */
  async begin(id: string): Promise<void> {
    this.#live.add(id);
    await this.#journal.add(id, new Date());
  }

  /** The recording is closed (synced): it is due for upload. Resolves once that is journaled. */
  async finish(id: string): Promise<void> {
    await this.#journal.add(id, new Date());
    this.#live.delete(id);
    this.#pending.add(id);
    if (this.#started) this.#kick();
  }

  /** The completer: a pass now (what an earlier run left), then one every rescan interval. */
  start(): void {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    this.#kick();
  }

  /** No more passes; resolves when the running one (if any) has ended. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#pass;
  }

  /** A pass now, whatever the schedule; resolves when it is done (a drain at shutdown, tests). */
  async flush(): Promise<void> {
    await this.#pass;
    if (this.#stopped) return;
    this.#kick();
    await this.#pass;
  }

  /** Runs a pass, or one more after the running one. */
  #kick(): void {
    if (this.#pass) {
      this.#again = true;
      return;
    }
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#pass = this.#runPass().finally(() => {
      this.#pass = null;
      if (this.#stopped) return;
      if (this.#again) {
        this.#again = false;
        this.#kick();
      } else if (this.#started) {
        this.#schedule();
      }
    });
  }

  #schedule(): void {
    const delay =
      this.#failuresInARow > 0 ? retryDelayMs(this.#failuresInARow, this.#o.retry) : this.#o.rescanMs;
    this.#timer = setTimeout(() => this.#kick(), delay);
    this.#timer.unref();
  }

  /** Uploads every due recording; stops at the first failure (the store is likely down). */
  async #runPass(): Promise<void> {
    let ids: string[];
    try {
      ids = await this.#journal.ids();
    } catch (err) {
      this.#failed('the upload journal', err);
      return;
    }
    this.#pending.clear();
    const due = dueUploads(ids, this.#live, this.#failuresById);
    for (const id of due) this.#pending.add(id);
    for (const id of due) {
      if (this.#stopped) return;
      try {
        await this.#complete(id);
        this.#failuresInARow = 0;
        this.#failuresById.delete(id);
      } catch (err) {
        this.#failuresById.set(id, (this.#failuresById.get(id) ?? 0) + 1);
        this.#failed(`recording ${id}`, err);
        return;
      }
    }
  }

  /** One recording: upload it unless the store has it already; then drop its journal entry. */
  async #complete(id: string): Promise<void> {
    const path = recordingPath(this.#o.dataDir, id);
    const key = recordingKey(id);
    const local = await sizeOf(path);
    const step = uploadStep(local, await this.#o.store.size(key));
    if (step === 'upload') {
      await this.#o.store.put(key, createReadStream(path));
      const stored = await this.#o.store.size(key);
      if (stored !== local)
        throw new Error(`the store holds ${stored} bytes of ${key} after a put of ${local}`);
      this.#counts.uploaded++;
    } else if (step === 'lost') {
      this.#o.log(
        `upload: recording ${id} is neither on this volume nor in ${this.#o.store.location}; dropped`,
      );
    }
    await this.#journal.remove(id);
    this.#pending.delete(id);
    if (step !== 'lost' && !this.#o.keepLocal) await rm(path, { force: true });
  }

  #failed(what: string, err: unknown): void {
    this.#counts.failures++;
    this.#failuresInARow++;
    const wait = retryDelayMs(this.#failuresInARow, this.#o.retry);
    this.#o.log(
      `upload: ${what} not uploaded to ${this.#o.store.location}, retrying in ${wait} ms: ${errorMessage(err)}`,
    );
  }
}

async function sizeOf(path: string): Promise<number | null> {
  try {
    return (await stat(path)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
