// What evidence needs from storage. The server's store provides SessionSource (sessions,
// recordings, events live there already); SignatureStore keeps signature chains and the
// bundles they seal. createFileSignatureStore is the embedded default (data directory); a
// PostgreSQL deployment implements the same four methods over a table so any replica serves
// any bundle.
import { createWriteStream, openAsBlob } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { AuditedExecError } from '../../common/errors.ts';
import type { SignatureDocument } from '../../common/evidence/format.ts';
import { isSessionId } from '../../common/session-marker.ts';
import type { SessionRecord, ShimEvent } from '../../common/wire.ts';

export interface SessionSource {
  getSession(id: string): Promise<SessionRecord | null>;
  /**
   * The finished asciicast file, read in pieces (openRecordingFile in recording-file.ts); null
   * when the session never produced one (refused).
   */
  openRecording(id: string): Promise<Blob | null>;
  /** every shim event attributed to the session, any order, duplicates allowed */
  listEvents(id: string): Promise<ShimEvent[]>;
}

export interface SignatureStore {
  /** the chain, oldest first; [] when the session was never signed */
  listSignatures(id: string): Promise<SignatureDocument[]>;
  /**
   * Stores the next link and the bundle it seals. Must refuse (code EVIDENCE_CHAIN_CONFLICT)
   * when that version already exists: two replicas signing at once must not fork the chain.
   * `bundle` is the .tar.gz as it is produced, read once; if it fails, nothing is stored.
   */
  appendSignature(id: string, doc: SignatureDocument, bundle: AsyncIterable<Uint8Array>): Promise<void>;
  /** the bundle sealed by the latest signature, read in pieces like the recording */
  readBundle(id: string): Promise<Blob | null>;
  deleteEvidence(id: string): Promise<void>;
}

export type EvidenceStore = SessionSource & SignatureStore;

export function checkSessionId(id: string): string {
  if (!isSessionId(id))
    throw new AuditedExecError('EVIDENCE_BAD_ID', `${JSON.stringify(id)} is not a session id`);
  return id;
}

/**
 * Bundles superseded by a newer link: each holds the whole recording, and a session that keeps
 * getting late events must not keep one per link. Every signature document stays (the chain);
 * the bundle before the latest stays too, for a download that opened it just before this link.
 */
async function pruneBundles(dir: string, latest: number): Promise<void> {
  for (const entry of await readdir(dir)) {
    const m = /^(\d{4,})\.tar\.gz$/.exec(entry);
    if (m && Number(m[1]) < latest - 1) await rm(join(dir, entry), { force: true });
  }
}

/**
 * <dir>/<id>/0001.json … and 0001.tar.gz …; the bundle is written first, the .json (with O_EXCL)
 * commits. Only the latest two bundles are kept (pruneBundles); every .json is.
 */
export function createFileSignatureStore(options: { dir: string }): SignatureStore {
  const sessionDir = (id: string) => join(options.dir, checkSessionId(id));
  const name = (v: number, ext: string) => `${String(v).padStart(4, '0')}.${ext}`;

  async function versions(id: string): Promise<number[]> {
    let entries: string[];
    try {
      entries = await readdir(sessionDir(id));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    return entries
      .map((e) => /^(\d{4})\.json$/.exec(e)?.[1])
      .filter((v): v is string => v !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
  }

  return {
    async listSignatures(id) {
      const vs = await versions(id);
      return Promise.all(
        vs.map(async (v) => JSON.parse(await readFile(join(sessionDir(id), name(v, 'json')), 'utf8'))),
      );
    },
    async appendSignature(id, doc, bundle) {
      const dir = sessionDir(id);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const v = doc.payload.version;
      const tmp = join(dir, `.${name(v, 'tar.gz')}.${process.pid}.tmp`);
      try {
        // flush: fsync before close, so the rename never publishes a bundle the disk does not hold.
        await pipeline(bundle, createWriteStream(tmp, { mode: 0o600, flush: true }));
      } catch (err) {
        await rm(tmp, { force: true });
        throw err;
      }
      await rename(tmp, join(dir, name(v, 'tar.gz')));
      let fh: Awaited<ReturnType<typeof open>>;
      try {
        fh = await open(join(dir, name(v, 'json')), 'wx', 0o600);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        throw new AuditedExecError(
          'EVIDENCE_CHAIN_CONFLICT',
          `session ${id} already has signature version ${v}`,
        );
      }
      try {
        await fh.writeFile(`${JSON.stringify(doc, null, 2)}\n`);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await pruneBundles(dir, v);
    },
    async readBundle(id) {
      const v = (await versions(id)).at(-1);
      if (v === undefined) return null;
      return openAsBlob(join(sessionDir(id), name(v, 'tar.gz')));
    },
    async deleteEvidence(id) {
      await rm(sessionDir(id), { recursive: true, force: true });
    },
  };
}
