// Signature chains in PostgreSQL, the bundles they seal in the object store every replica shares
// (key evidence/<id>/<version>.tar.gz), so any replica serves any bundle. A link is appended in one
// transaction: its row first (the primary key (session, version) makes a second signer of that
// version wait, then fail with EVIDENCE_CHAIN_CONFLICT, before it uploads anything), then the
// bundle, then COMMIT; a bundle that fails midway rolls the row back. readBundle downloads the
// bundle once per version into a local cache and serves it from there, read in pieces.
import { openAsBlob } from 'node:fs';
import { access, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { AuditedExecError } from '../../../common/errors.ts';
import type { SignatureDocument } from '../../../common/evidence/format.ts';
import { checkSessionId, type SignatureStore } from '../../evidence/store.ts';
import type { ObjectStore } from '../../storage/object-store.ts';
import type { PgDatabase } from './db.ts';

const UNIQUE_VIOLATION = '23505';

export const bundleKey = (id: string, version: number) => `evidence/${checkSessionId(id)}/${version}.tar.gz`;

export interface PgSignatureStoreOptions {
  db: PgDatabase;
  objects: ObjectStore;
  /** Local directory for downloaded bundles (this replica's own). */
  cacheDir: string;
}

export class PgSignatureStore implements SignatureStore {
  readonly #db: PgDatabase;
  readonly #objects: ObjectStore;
  readonly #cacheDir: string;
  /** Downloads in flight by cache path: concurrent readers of one bundle share one. */
  readonly #downloads = new Map<string, Promise<boolean>>();

  constructor(options: PgSignatureStoreOptions) {
    this.#db = options.db;
    this.#objects = options.objects;
    this.#cacheDir = options.cacheDir;
  }

  async listSignatures(id: string): Promise<SignatureDocument[]> {
    const { rows } = await this.#db.query(
      'SELECT doc FROM evidence_signatures WHERE session = $1 ORDER BY version',
      [checkSessionId(id)],
    );
    return rows.map((r) => JSON.parse(r.doc) as SignatureDocument);
  }

  async appendSignature(
    id: string,
    doc: SignatureDocument,
    bundle: AsyncIterable<Uint8Array>,
  ): Promise<void> {
    const v = doc.payload.version;
    const key = bundleKey(id, v);
    await this.#db.transaction(async (client) => {
      try {
        await client.query('INSERT INTO evidence_signatures (session, version, doc) VALUES ($1, $2, $3)', [
          id,
          v,
          `${JSON.stringify(doc, null, 2)}\n`,
        ]);
      } catch (err) {
        if ((err as { code?: string }).code !== UNIQUE_VIOLATION) throw err;
        throw new AuditedExecError(
          'EVIDENCE_CHAIN_CONFLICT',
          `session ${id} already has signature version ${v}`,
        );
      }
      await this.#objects.put(key, Readable.from(bundle));
    });
    // Each bundle holds the whole recording: keep the latest two (as the file store does), so a
    // download that opened the previous one just before this link still completes.
    if (v > 2) await this.#objects.delete(bundleKey(id, v - 2));
  }

  async readBundle(id: string): Promise<Blob | null> {
    const { rows } = await this.#db.query(
      'SELECT max(version) AS version FROM evidence_signatures WHERE session = $1',
      [checkSessionId(id)],
    );
    const v: number | null = rows[0]?.version ?? null;
    if (v === null) return null;
    const dir = join(this.#cacheDir, id);
    const path = join(dir, `${v}.tar.gz`);
    if (!(await this.#cached(path, bundleKey(id, v)))) return null;
    await pruneCache(dir, v);
    return openAsBlob(path);
  }

  async deleteEvidence(id: string): Promise<void> {
    await this.#db.query('DELETE FROM evidence_signatures WHERE session = $1', [checkSessionId(id)]);
    for await (const key of this.#objects.list(`evidence/${id}/`)) await this.#objects.delete(key);
    await rm(join(this.#cacheDir, id), { recursive: true, force: true });
  }

  /** True once the bundle is in the cache file (a version's bundle never changes). */
  async #cached(path: string, key: string): Promise<boolean> {
    try {
      await access(path);
      return true;
    } catch {
      // not yet downloaded
    }
    let download = this.#downloads.get(path);
    if (!download) {
      download = this.#objects.download(key, path).finally(() => this.#downloads.delete(path));
      this.#downloads.set(path, download);
    }
    return download;
  }
}

/** Cached bundles older than the one before `latest` are not served again. */
async function pruneCache(dir: string, latest: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const entry of await readdir(dir)) {
    const m = /^(\d+)\.tar\.gz$/.exec(entry);
    if (m && Number(m[1]) < latest - 1) await rm(join(dir, entry), { force: true });
  }
}
