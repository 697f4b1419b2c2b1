// Assembling and signing an evidence bundle. The files are built from the store's data, the
// manifest hashes them, and the signature covers the manifest digest plus the session,
// recording and events digests, so no file can be swapped without the signature noticing.
import { canonicalBytes } from '../../common/evidence/canonical-json.ts';
import { parseEvents, type RenderedEvents, renderEvents } from '../../common/evidence/events.ts';
import {
  buildManifest,
  documentDigest,
  FILES,
  type Manifest,
  SIGNATURE_FORMAT,
  type SignatureDocument,
  type SignaturePayload,
  sha256Hex,
  signedSession,
} from '../../common/evidence/format.ts';
import { type FileMap, writeTarGz } from '../../common/evidence/tar.ts';
import type { SessionRecord, ShimEvent } from '../../common/wire.ts';
import type { PlayerAssets } from './player-assets.ts';
import { renderReport } from './report-template.ts';
import type { SigningKey } from './signing-key.ts';

export interface BundleSource {
  session: SessionRecord;
  recording: Uint8Array;
  events: readonly ShimEvent[];
}

export interface UnsignedBundle {
  files: FileMap;
  manifest: Manifest;
  manifestBytes: Uint8Array;
  events: RenderedEvents;
}

const enc = new TextEncoder();
const pretty = (v: unknown) => enc.encode(`${JSON.stringify(v, null, 2)}\n`);

/** Everything but signature.json, for the chain version about to be signed. */
export function buildFiles(
  src: BundleSource,
  opts: { key: Pick<SigningKey, 'publicKeyPem' | 'fingerprint'>; player: PlayerAssets; version: number },
): UnsignedBundle {
  const session = signedSession(src.session);
  const events = renderEvents(src.events);
  const { cast, embeddedBytes } = reportCast(src.recording);
  const report = renderReport({
    session,
    events: parseEvents(events.text).events,
    cast,
    ...(embeddedBytes < src.recording.length
      ? { castNote: `the player holds the first ${embeddedBytes} of ${src.recording.length} bytes` }
      : {}),
    player: opts.player,
    signer: opts.key.fingerprint,
    version: opts.version,
  });
  const files: FileMap = new Map([
    [FILES.session, pretty(session)],
    [FILES.recording, src.recording],
    [FILES.events, events.bytes],
    [FILES.report, enc.encode(report)],
    [FILES.publicKey, enc.encode(opts.key.publicKeyPem)],
  ]);
  const manifest = buildManifest(session.id, files);
  return { files, manifest, manifestBytes: pretty(manifest), events };
}

/**
 * The part of the recording report.html embeds. A browser (and V8's string limit, ~512 MiB) cannot
 * hold huge recordings inline, so past REPORT_CAST_LIMIT the page plays whole lines up to it and
 * says so; recording.cast in the bundle always holds every byte.
 */
export const REPORT_CAST_LIMIT = 64 * 1024 * 1024;

export function reportCast(
  recording: Uint8Array,
  limit = REPORT_CAST_LIMIT,
): {
  cast: string;
  embeddedBytes: number;
} {
  if (recording.length <= limit) {
    return { cast: new TextDecoder().decode(recording), embeddedBytes: recording.length };
  }
  const end = recording.lastIndexOf(0x0a, limit - 1) + 1;
  return { cast: new TextDecoder().decode(recording.subarray(0, end)), embeddedBytes: end };
}

export function signDocument(key: SigningKey, payload: SignaturePayload): SignatureDocument {
  return {
    format: SIGNATURE_FORMAT,
    algorithm: 'Ed25519',
    keyFingerprint: key.fingerprint,
    payload,
    signature: Buffer.from(key.sign(canonicalBytes(payload))).toString('base64'),
  };
}

/** The payload for the next link after `chain` (oldest first). */
export function nextPayload(
  unsigned: UnsignedBundle,
  src: BundleSource,
  chain: readonly SignatureDocument[],
  signedAt: Date,
): SignaturePayload {
  const prev = chain[chain.length - 1];
  return {
    version: chain.length + 1,
    sessionId: src.session.id,
    session: signedSession(src.session),
    recording: { sha256: sha256Hex(src.recording), bytes: src.recording.length },
    events: { sha256: unsigned.events.sha256, count: unsigned.events.count },
    manifest: { sha256: sha256Hex(unsigned.manifestBytes) },
    previous: prev ? documentDigest(prev) : null,
    signedAt: signedAt.toISOString(),
  };
}

/** The .tar.gz: manifest first so `tar tzf` shows what the bundle claims before what it holds. */
export function packBundle(unsigned: UnsignedBundle, chain: readonly SignatureDocument[]): Uint8Array {
  const last = chain[chain.length - 1];
  const files: FileMap = new Map([
    [FILES.manifest, unsigned.manifestBytes],
    [FILES.signature, pretty(chain)],
    ...unsigned.files,
  ]);
  const mtime = last ? Math.floor(Date.parse(last.payload.signedAt) / 1000) : 0;
  return writeTarGz(files, { mtime });
}
