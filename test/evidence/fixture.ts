// A finished session as the store would hold it: a real asciinema recording (fixtures/session.cast,
// made with `asciinema rec` 2.2) and the shim events for it (shuffled, with one resend, as a
// shim that reconnected would deliver them).
import { createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SignatureDocument } from '../../common/evidence/format.ts';
import { keyFingerprint } from '../../common/evidence/format.ts';
import type { SessionRecord, ShimEvent } from '../../common/wire.ts';
import type { PlayerAssets } from '../../server/evidence/player-assets.ts';
import type { SigningKey } from '../../server/evidence/signing-key.ts';
import type { EvidenceStore } from '../../server/evidence/store.ts';

const dir = join(import.meta.dirname, 'fixtures');
export const SESSION_ID = '5b0c1f8e-3d1a-4c7e-9f2a-1b2c3d4e5f60';
export const OTHER_ID = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d';

export const recording = new Uint8Array(readFileSync(join(dir, 'session.cast')));
export const otherRecording = new Uint8Array(readFileSync(join(dir, 'other-session.cast')));
export const shimEvents: ShimEvent[] = readFileSync(join(dir, 'shim-events.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l));

export function sessionRecord(overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    id: SESSION_ID,
    kind: 'exec',
    state: 'ended',
    user: 'alice@example.com',
    groups: ['sre', 'system:authenticated'],
    uid: 'u-1234',
    impersonator: 'system:serviceaccount:audited-exec:recorder',
    reason: 'restart stuck worker',
    ticket: 'INC-4711',
    namespace: 'payments',
    pod: 'api-7d9f8c-x2x9q',
    container: 'api',
    containerId: 'c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00',
    node: 'kind-worker',
    image: 'registry.example.com/payments/api:1.42',
    command: ['bash', '--norc', '--noprofile', '/tmp/ev-session.sh'],
    tty: true,
    stdin: true,
    attribution: 'marker',
    auditId: SESSION_ID,
    startedAt: '2026-11-23T22:29:45.000Z',
    endedAt: '2026-11-23T22:29:49.100Z',
    exitCode: 0,
    recordInput: false,
    recordingBytes: recording.length,
    commandCount: 7,
    alertCount: 1,
    ...overrides,
  };
}

/** A signing key held in memory (the file-backed loader has its own tests). */
export function memoryKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    publicKey,
    publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }) as string,
    fingerprint: keyFingerprint(publicKey),
    sign: (data) => new Uint8Array(sign(null, data, privateKey)),
    path: '(memory)',
    generated: true,
  };
}

export function publicKeyOf(key: SigningKey) {
  return createPublicKey(key.publicKeyPem);
}

/** Tiny stand-in player so unit tests do not inline 250 KB; the browser test uses the real one. */
export const fakePlayer: PlayerAssets = { js: '/* player */', css: '/* css */', version: 'test' };

export interface MemoryStore extends EvidenceStore {
  sessions: Map<string, SessionRecord>;
  recordings: Map<string, Uint8Array>;
  events: Map<string, ShimEvent[]>;
  chains: Map<string, { docs: SignatureDocument[]; bundles: Uint8Array[] }>;
}

export function memoryStore(): MemoryStore {
  const sessions = new Map<string, SessionRecord>();
  const recordings = new Map<string, Uint8Array>();
  const events = new Map<string, ShimEvent[]>();
  const chains = new Map<string, { docs: SignatureDocument[]; bundles: Uint8Array[] }>();
  return {
    sessions,
    recordings,
    events,
    chains,
    getSession: async (id) => sessions.get(id) ?? null,
    openRecording: async (id) => blobOf(recordings.get(id)),
    listEvents: async (id) => events.get(id) ?? [],
    listSignatures: async (id) => [...(chains.get(id)?.docs ?? [])],
    appendSignature: async (id, doc, bundle) => {
      const c = chains.get(id) ?? { docs: [], bundles: [] };
      if (c.docs.length + 1 !== doc.payload.version) throw new Error('chain conflict');
      const parts: Uint8Array[] = [];
      for await (const part of bundle) parts.push(part);
      const bytes = Buffer.concat(parts);
      c.docs.push(doc);
      c.bundles.push(new Uint8Array(bytes));
      chains.set(id, c);
    },
    readBundle: async (id) => blobOf(chains.get(id)?.bundles.at(-1)),
    deleteEvidence: async (id) => {
      chains.delete(id);
    },
  };
}

function blobOf(bytes: Uint8Array | undefined): Blob | null {
  return bytes ? new Blob([bytes as Uint8Array<ArrayBuffer>]) : null;
}

/** A sealed bundle's bytes (Evidence.bundle and readBundle give a Blob to stream). */
export async function bundleBytes(blob: Blob | Promise<Blob | null>): Promise<Uint8Array> {
  const b = await blob;
  if (!b) throw new Error('no bundle');
  return b.bytes();
}

export function seededStore(): MemoryStore {
  const store = memoryStore();
  store.sessions.set(SESSION_ID, sessionRecord());
  store.recordings.set(SESSION_ID, recording);
  store.events.set(SESSION_ID, shimEvents);
  return store;
}
