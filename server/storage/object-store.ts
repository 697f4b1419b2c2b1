// Where recordings and evidence bundles live once they leave a replica's own volume: an object
// store (S3 API) shared by every replica, or a directory (a shared filesystem volume, or the
// embedded default's data dir). A replica always writes to its own durable volume first
// (write-before-forward) and puts the finished object here; a replica that lacks a file locally
// reads it from here. Keys are relative paths with '/' separators ("recordings/<id>.cast").

import type { Readable } from 'node:stream';

export interface ObjectStore {
  /** For logs and readiness: where the objects go ("s3://bucket/prefix at http://…", a path). */
  readonly location: string;
  /** Stores the object whole: a reader never sees part of it. Replaces an existing one. */
  put(key: string, body: Readable | Uint8Array | string): Promise<void>;
  /** The object as a stream; null when there is none. */
  read(key: string): Promise<Readable | null>;
  /** Copies the object to a local file, atomically (temp file, then rename); false when absent. */
  download(key: string, path: string): Promise<boolean>;
  /** The object's size, or null when there is none. */
  size(key: string): Promise<number | null>;
  /** Removes the object; one that is already gone is not an error. */
  delete(key: string): Promise<void>;
  /** Every key under the prefix, in no particular order. */
  list(prefix: string): AsyncIterable<string>;
  /** undefined while the store answers; else one sentence saying why not. */
  check(): Promise<string | undefined>;
}
