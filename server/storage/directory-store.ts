// An ObjectStore over a directory: the embedded default (the data dir), or a filesystem volume
// every replica mounts. Objects are files under the root; put writes a temp file beside the target,
// fsyncs it and renames it over, so a reader sees the old object or the new one, never part of one.

import { createWriteStream } from 'node:fs';
import { copyFile, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { objectKeyParts } from './object-key.ts';
import type { ObjectStore } from './object-store.ts';

export class DirectoryObjectStore implements ObjectStore {
  readonly location: string;
  readonly #root: string;

  constructor(root: string) {
    this.#root = root;
    this.location = root;
  }

  async put(key: string, body: Readable | Uint8Array | string): Promise<void> {
    const path = this.#path(key);
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
    try {
      const source = typeof body === 'string' || body instanceof Uint8Array ? Readable.from([body]) : body;
      await pipeline(source, createWriteStream(tmp));
      await fsync(tmp);
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async read(key: string): Promise<Readable | null> {
    const path = this.#path(key);
    try {
      const handle = await open(path, 'r');
      return handle.createReadStream();
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async download(key: string, path: string): Promise<boolean> {
    const tmp = `${path}.${process.pid}.tmp`;
    try {
      await mkdir(dirname(path), { recursive: true });
      await copyFile(this.#path(key), tmp);
      await rename(tmp, path);
      return true;
    } catch (err) {
      await rm(tmp, { force: true });
      if (isMissing(err)) return false;
      throw err;
    }
  }

  async size(key: string): Promise<number | null> {
    try {
      return (await stat(this.#path(key))).size;
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.#path(key), { force: true });
  }

  async *list(prefix: string): AsyncIterable<string> {
    // Walk only the deepest directory the prefix names; the rest of the prefix filters names.
    const dir = prefix.slice(0, Math.max(0, prefix.lastIndexOf('/')));
    const base = dir === '' ? this.#root : this.#path(dir);
    for await (const file of walk(base)) {
      const key = relative(this.#root, file).split(sep).join('/');
      if (key.startsWith(prefix) && !key.endsWith('.tmp')) yield key;
    }
  }

  async check(): Promise<string | undefined> {
    try {
      await mkdir(this.#root, { recursive: true });
      return undefined;
    } catch (err) {
      return `the object directory ${this.#root} cannot be used: ${(err as Error).message}`;
    }
  }

  /** The file for a key; a key that would leave the root is refused. */
  #path(key: string): string {
    return join(this.#root, ...objectKeyParts(key));
  }
}

async function* walk(dir: string): AsyncIterable<string> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (isMissing(err)) return;
    throw err;
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) yield* walk(path);
    else if (e.isFile()) yield path;
  }
}

async function fsync(path: string): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOENT';
}
