// The session's recording as evidence reads it: a Blob (fs.openAsBlob in the recorder), read in
// pieces so that no seal holds a whole recording: sessions reach GiBs, the recorder has 1Gi.
// Node's file-backed Blob refuses to read a file changed since it was opened; that, like a
// digest that differs from the one signed, is a recording changed under the signer.
import { createHash } from 'node:crypto';
import { openAsBlob } from 'node:fs';
import { stat } from 'node:fs/promises';
import { AuditedExecError } from '../../common/errors.ts';

export interface SignedRecording {
  sessionId: string;
  blob: Blob;
  /** hex SHA-256 the signature states; packing re-checks the bytes against it */
  sha256: string;
}

/** SessionSource.openRecording over a .cast file: null when the session has none. */
export async function openRecordingFile(path: string): Promise<Blob | null> {
  // openAsBlob's error for a missing file has no code; stat's does.
  try {
    await stat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  return openAsBlob(path);
}

export async function hashRecording(sessionId: string, blob: Blob): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of chunks(sessionId, blob)) hash.update(chunk);
  return hash.digest('hex');
}

/** A slice of the recording (report.html's capped prefix), whole: copied into one buffer as
 *  read, since Blob.arrayBuffer() holds the chunks and their join at once (twice the size). */
export async function readSlice(sessionId: string, blob: Blob): Promise<Uint8Array> {
  const out = new Uint8Array(blob.size);
  let at = 0;
  for await (const chunk of chunks(sessionId, blob)) {
    if (at + chunk.length > out.length) throw changed(sessionId);
    out.set(chunk, at);
    at += chunk.length;
  }
  if (at !== out.length) throw changed(sessionId);
  return out;
}

/** The recording's bytes for the archive; fails at the end if they are not the ones signed. */
export async function* checkedRecording(rec: SignedRecording): AsyncGenerator<Uint8Array> {
  const hash = createHash('sha256');
  for await (const chunk of chunks(rec.sessionId, rec.blob)) {
    hash.update(chunk);
    yield chunk;
  }
  if (hash.digest('hex') !== rec.sha256) throw changed(rec.sessionId);
}

async function* chunks(sessionId: string, blob: Blob): AsyncGenerator<Uint8Array> {
  try {
    yield* blob.stream();
  } catch (err) {
    throw changed(sessionId, err);
  }
}

function changed(sessionId: string, cause?: unknown): AuditedExecError {
  return new AuditedExecError(
    'EVIDENCE_RECORDING_MISMATCH',
    `recording of session ${sessionId} changed while it was being signed${cause ? ` (${String(cause)})` : ''}; refusing to sign`,
  );
}
