// Signature documents and their chain. Version 1 is made when a session ends; shim events that
// arrive later produce version 2, 3, … each naming the digest of the one before, so a bundle
// shows every state the server ever vouched for and nobody can drop a version unnoticed.
import { type KeyObject, verify } from 'node:crypto';
import { canonicalBytes } from './canonical-json.ts';
import {
  documentDigest,
  keyFingerprint,
  SIGNATURE_FORMAT,
  type SignatureDocument,
  type SignaturePayload,
  sameFingerprint,
} from './format.ts';

export function payloadBytes(payload: SignaturePayload): Uint8Array {
  return canonicalBytes(payload);
}

/** Parses signature.json (a JSON array, oldest first) into documents, or says why it cannot. */
export function parseChain(text: string): { chain: SignatureDocument[]; problems: string[] } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { chain: [], problems: ['signature.json: not JSON'] };
  }
  if (!Array.isArray(value) || value.length === 0) {
    return { chain: [], problems: ['signature.json: expected a non-empty array of signature documents'] };
  }
  const problems: string[] = [];
  value.forEach((doc, i) => {
    const d = doc as Partial<SignatureDocument> | null;
    if (
      d?.format !== SIGNATURE_FORMAT ||
      d.algorithm !== 'Ed25519' ||
      typeof d.signature !== 'string' ||
      typeof d.keyFingerprint !== 'string' ||
      typeof d.payload !== 'object' ||
      d.payload === null
    ) {
      problems.push(`signature.json: entry ${i + 1} is not an ${SIGNATURE_FORMAT} Ed25519 document`);
    }
  });
  return { chain: problems.length ? [] : (value as SignatureDocument[]), problems };
}

/**
 * Checks every link: each signature verifies with `key`, versions count 1..n, each `previous`
 * is the digest of the document before it, and the session and recording never change along
 * the chain (only late shim events may).
 */
export function verifyChain(chain: readonly SignatureDocument[], key: KeyObject): string[] {
  const problems: string[] = [];
  const fingerprint = keyFingerprint(key);
  const first = chain[0]?.payload;
  chain.forEach((doc, i) => {
    const v = i + 1;
    const where = `signature.json: version ${v}`;
    const p = doc.payload;
    if (!sameFingerprint(doc.keyFingerprint, fingerprint)) {
      problems.push(`${where}: names signer ${doc.keyFingerprint}, but the verifying key is ${fingerprint}`);
    }
    let valid = false;
    try {
      valid = verify(null, payloadBytes(p), key, Buffer.from(doc.signature, 'base64'));
    } catch {
      valid = false;
    }
    if (!valid) problems.push(`${where}: signature does not verify with key ${fingerprint}`);
    if (p.version !== v) problems.push(`${where}: payload says version ${p.version}`);
    const prev = chain[i - 1];
    const expected = prev ? documentDigest(prev) : null;
    if (p.previous !== expected) {
      problems.push(
        prev
          ? `signature.json: chain broken at version ${v} (previous is ${p.previous}, version ${v - 1} digests to ${expected})`
          : `${where}: the first signature must have previous null`,
      );
    }
    if (first && i > 0) {
      if (p.sessionId !== first.sessionId) problems.push(`${where}: signs another session (${p.sessionId})`);
      if (p.recording?.sha256 !== first.recording?.sha256) {
        problems.push(`${where}: changes the recording digest signed by version 1`);
      }
      if (prev && p.signedAt < prev.payload.signedAt)
        problems.push(`${where}: signed before version ${v - 1}`);
    }
  });
  return problems;
}
