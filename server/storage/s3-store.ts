// An ObjectStore over the S3 API (AWS S3, Ceph RGW, MinIO, …), shared by every replica. A stream is
// put as a multipart upload (lib-storage; S3 shows the object only once the upload completes, so a
// reader never sees part of it, and a failed upload is aborted, not left half there); a download
// goes to a temp file that is synced and renamed into place. Every failure of the store itself is
// an AuditedExecError with code STORAGE_UNAVAILABLE and one sentence saying what failed.

import { createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  paginateListObjectsV2,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { AuditedExecError, errorMessage } from '../../common/errors.ts';
import { objectKeyParts } from './object-key.ts';
import type { ObjectStore } from './object-store.ts';

/** S3 refuses multipart parts under 5 MiB (but the last). */
export const MIN_PART_SIZE = 5 * 1024 * 1024;

export interface S3StoreOptions {
  bucket: string;
  /** Keys are stored under this prefix ("prod/audited-exec"); none by default. */
  prefix?: string;
  /** For S3-compatible servers (http://rgw:7480); AWS's own endpoint when absent. */
  endpoint?: string;
  region?: string;
  /** Static keys; when absent the SDK's default chain (env, web identity, instance role, …). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Path-style URLs (endpoint/bucket/key), which most S3-compatible servers need. */
  forcePathStyle?: boolean;
  /** Multipart part size in bytes, at least 5 MiB. */
  partSize?: number;
  /** Parts uploaded at once; memory held is partSize × queueSize. */
  queueSize?: number;
  /** Milliseconds to wait for a connection, and for a stalled request, before it fails. */
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
}

const DEFAULTS = {
  prefix: '',
  region: 'us-east-1',
  forcePathStyle: false,
  partSize: 8 * 1024 * 1024,
  queueSize: 2,
  connectionTimeoutMs: 5_000,
  requestTimeoutMs: 60_000,
};

export class S3ObjectStore implements ObjectStore {
  readonly location: string;
  readonly #o: S3StoreOptions & typeof DEFAULTS;
  readonly #client: S3Client;

  constructor(options: S3StoreOptions) {
    this.#o = { ...DEFAULTS, ...options, prefix: (options.prefix ?? '').replace(/^\/+|\/+$/g, '') };
    if (this.#o.partSize < MIN_PART_SIZE) {
      throw new AuditedExecError(
        'STORAGE_CONFIG',
        `the S3 part size must be at least ${MIN_PART_SIZE} bytes`,
      );
    }
    const o = this.#o;
    this.location = `s3://${o.bucket}/${o.prefix}${o.endpoint ? ` at ${o.endpoint}` : ` in ${o.region}`}`;
    this.#client = new S3Client({
      region: o.region,
      forcePathStyle: o.forcePathStyle,
      ...(o.endpoint ? { endpoint: o.endpoint } : {}),
      ...(o.credentials ? { credentials: o.credentials } : {}),
      requestHandler: { connectionTimeout: o.connectionTimeoutMs, requestTimeout: o.requestTimeoutMs },
    });
  }

  async put(key: string, body: Readable | Uint8Array | string): Promise<void> {
    const params = { Bucket: this.#o.bucket, Key: this.#key(key) };
    // A source that fails (the local disk) is the caller's error, passed on as it is.
    let sourceError: unknown;
    if (typeof body !== 'string' && !(body instanceof Uint8Array))
      body.once('error', (e) => (sourceError = e));
    try {
      if (typeof body === 'string' || body instanceof Uint8Array) {
        const bytes = typeof body === 'string' ? Buffer.from(body) : body;
        await this.#client.send(
          new PutObjectCommand({ ...params, Body: bytes, ContentLength: bytes.length }),
        );
        return;
      }
      const upload = new Upload({
        client: this.#client,
        params: { ...params, Body: body },
        partSize: this.#o.partSize,
        queueSize: this.#o.queueSize,
        leavePartsOnError: false,
      });
      await upload.done();
    } catch (err) {
      throw sourceError ?? this.#failure(`put ${key}`, err);
    }
  }

  async read(key: string): Promise<Readable | null> {
    try {
      const out = await this.#client.send(
        new GetObjectCommand({ Bucket: this.#o.bucket, Key: this.#key(key) }),
      );
      return out.Body as Readable;
    } catch (err) {
      if (isMissing(err)) return null;
      throw this.#failure(`read ${key}`, err);
    }
  }

  async download(key: string, path: string): Promise<boolean> {
    const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
    try {
      const out = await this.#client.send(
        new GetObjectCommand({ Bucket: this.#o.bucket, Key: this.#key(key) }),
      );
      await mkdir(dirname(path), { recursive: true });
      await pipeline(out.Body as Readable, createWriteStream(tmp));
      const written = await syncedSize(tmp);
      if (out.ContentLength !== undefined && written !== out.ContentLength) {
        throw new Error(`got ${written} of ${out.ContentLength} bytes`);
      }
      await rename(tmp, path);
      return true;
    } catch (err) {
      await rm(tmp, { force: true });
      if (isMissing(err)) return false;
      throw this.#failure(`download ${key}`, err);
    }
  }

  async size(key: string): Promise<number | null> {
    try {
      const out = await this.#client.send(
        new HeadObjectCommand({ Bucket: this.#o.bucket, Key: this.#key(key) }),
      );
      return out.ContentLength ?? 0;
    } catch (err) {
      if (isMissing(err)) return null;
      throw this.#failure(`size of ${key}`, err);
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.#o.bucket, Key: this.#key(key) }));
    } catch (err) {
      if (isMissing(err)) return;
      throw this.#failure(`delete ${key}`, err);
    }
  }

  async *list(prefix: string): AsyncIterable<string> {
    const base = this.#o.prefix ? `${this.#o.prefix}/` : '';
    const pages = paginateListObjectsV2(
      { client: this.#client },
      { Bucket: this.#o.bucket, Prefix: `${base}${prefix}` },
    );
    try {
      for await (const page of pages) {
        for (const item of page.Contents ?? []) {
          if (item.Key?.startsWith(base)) yield item.Key.slice(base.length);
        }
      }
    } catch (err) {
      throw this.#failure(`list ${prefix}`, err);
    }
  }

  async check(): Promise<string | undefined> {
    try {
      await this.#client.send(new HeadBucketCommand({ Bucket: this.#o.bucket }));
      return undefined;
    } catch (err) {
      return `the object store ${this.location} cannot be used: ${why(err)}`;
    }
  }

  /** Releases the client's sockets. */
  close(): void {
    this.#client.destroy();
  }

  #key(key: string): string {
    const parts = objectKeyParts(key);
    return this.#o.prefix ? `${this.#o.prefix}/${parts.join('/')}` : key;
  }

  #failure(what: string, err: unknown): AuditedExecError {
    if (err instanceof AuditedExecError) return err;
    return new AuditedExecError(
      'STORAGE_UNAVAILABLE',
      `the object store ${this.location} failed to ${what}: ${why(err)}`,
      {
        cause: err,
      },
    );
  }
}

interface SdkError {
  name?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
}

/** The object is not there (but a missing bucket is a broken store, not a missing object). */
function isMissing(err: unknown): boolean {
  const e = err as SdkError;
  return e?.name !== 'NoSuchBucket' && (e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404);
}

/** A short reason a person can act on, from an SDK or network error. */
function why(err: unknown): string {
  const e = err as SdkError;
  const status = e?.$metadata?.httpStatusCode;
  if (status === 403 || status === 401) return 'access denied (check the credentials and the bucket policy)';
  if (e?.name === 'NoSuchBucket' || (status === 404 && e?.name === 'NotFound'))
    return 'the bucket does not exist';
  if (status) return `HTTP ${status} ${e.name ?? ''}`.trim();
  return e?.code ?? errorMessage(err);
}

async function syncedSize(path: string): Promise<number> {
  const handle = await open(path, 'r+');
  try {
    await handle.sync();
    return (await handle.stat()).size;
  } finally {
    await handle.close();
  }
}
