// What an evidence bundle holds and how its parts are named, hashed and fingerprinted.
// Pure: node:crypto is used only as a hash function; nothing here reads files or clocks.
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import type { SessionRecord } from '../wire.ts';
import { canonicalBytes } from './canonical-json.ts';

export const FILES = {
  manifest: 'manifest.json',
  session: 'session.json',
  recording: 'recording.cast',
  events: 'events.jsonl',
  report: 'report.html',
  signature: 'signature.json',
  publicKey: 'public-key.pem',
} as const;

/** Files the manifest lists. manifest.json cannot list itself, and signature.json holds the
 *  signed digest of manifest.json, so listing it would be circular: those two are bound the
 *  other way round (the signature covers the manifest, the manifest covers everything else). */
export const MANIFEST_FILES: readonly string[] = [
  FILES.session,
  FILES.recording,
  FILES.events,
  FILES.report,
  FILES.publicKey,
];

export const MANIFEST_FORMAT = 'audited-exec-evidence/v1';
export const SIGNATURE_FORMAT = 'audited-exec-signature/v1';

export interface FileDigest {
  sha256: string;
  size: number;
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  sessionId: string;
  files: Record<string, FileDigest>;
}

/** Session metadata as signed: the store's record minus what may change after signing. */
export type SignedSession = Omit<SessionRecord, 'legalHold'>;

export interface SignaturePayload {
  /** position in the chain, 1 for the signature made at session end */
  version: number;
  sessionId: string;
  session: SignedSession;
  recording: { sha256: string; bytes: number };
  events: { sha256: string; count: number };
  manifest: { sha256: string };
  /** hex SHA-256 of the canonical JSON of the previous signature document, null for version 1 */
  previous: string | null;
  /** ISO-8601 */
  signedAt: string;
}

export interface SignatureDocument {
  format: typeof SIGNATURE_FORMAT;
  algorithm: 'Ed25519';
  keyFingerprint: string;
  payload: SignaturePayload;
  /** base64 Ed25519 signature over canonicalBytes(payload) */
  signature: string;
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export function fileDigest(data: Uint8Array): FileDigest {
  return { sha256: sha256Hex(data), size: data.length };
}

/** The chain link: what the next version's `previous` must equal. */
export function documentDigest(doc: SignatureDocument): string {
  return sha256Hex(canonicalBytes(doc));
}

export function signedSession(record: SessionRecord): SignedSession {
  const { legalHold: _hold, ...rest } = record;
  return rest;
}

export function buildManifest(sessionId: string, files: ReadonlyMap<string, Uint8Array>): Manifest {
  const entries: Record<string, FileDigest> = {};
  for (const name of MANIFEST_FILES) {
    const data = files.get(name);
    if (data) entries[name] = fileDigest(data);
  }
  return { format: MANIFEST_FORMAT, sessionId, files: entries };
}

/**
 * `SHA256:<base64 of sha256 of the raw 32-byte Ed25519 public key>`, padding stripped as
 * OpenSSH does. (Not the same number ssh-keygen prints: OpenSSH hashes its own key blob.)
 */
export function keyFingerprint(publicKey: KeyObject | string): string {
  const key = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey;
  if (key.asymmetricKeyType !== 'ed25519') throw new TypeError('not an Ed25519 public key');
  const raw = Buffer.from(key.export({ format: 'jwk' }).x ?? '', 'base64url');
  return `SHA256:${createHash('sha256').update(raw).digest('base64').replace(/=+$/, '')}`;
}

/** Fingerprints compare without padding and without the optional "SHA256:" prefix. */
export function sameFingerprint(a: string, b: string): boolean {
  const norm = (f: string) =>
    f
      .trim()
      .replace(/^SHA256:/i, '')
      .replace(/=+$/, '');
  return norm(a) === norm(b);
}
