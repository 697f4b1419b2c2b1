// Assembling and signing an evidence bundle. The files are built from the store's data, the
// manifest hashes them, and the signature covers the manifest digest plus the session,
// recording and events digests, so no file can be swapped without the signature noticing.
// The recording is never held whole (sessions reach GiBs, the recorder has 1Gi): it is hashed
// and packed by streaming it, and only report.html's capped prefix of it is read into memory.
import { createHash } from 'node:crypto';
import { canonicalBytes } from '../../common/evidence/canonical-json.ts';
import { parseEvents, type RenderedEvents, renderEvents } from '../../common/evidence/events.ts';
import {
  documentDigest,
  FILES,
  type FileDigest,
  MANIFEST_FILES,
  MANIFEST_FORMAT,
  type Manifest,
  SIGNATURE_FORMAT,
  type SignatureDocument,
  type SignaturePayload,
  sha256Hex,
  signedSession,
} from '../../common/evidence/format.ts';
import { type TarEntry, writeTarGzStream } from '../../common/evidence/tar.ts';
import type { SessionRecord, ShimEvent } from '../../common/wire.ts';
import type { PlayerAssets } from './player-assets.ts';
import { checkedRecording, readSlice, type SignedRecording } from './recording-file.ts';
import { renderReport } from './report-template.ts';
import type { SigningKey } from './signing-key.ts';

export interface BundleSource {
  session: SessionRecord;
  /** the recording and its digest, taken (and checked against the store's) by the caller */
  recording: SignedRecording;
  events: readonly ShimEvent[];
}

export interface UnsignedBundle {
  /**
   * Every file but recording.cast (streamed from the source when packing), in pieces; report.html
   * renders its pieces anew on each pass rather than holding a second copy of the embedded cast.
   */
  files: Map<string, Iterable<Uint8Array>>;
  manifest: Manifest;
  manifestBytes: Uint8Array;
  events: RenderedEvents;
}

const enc = new TextEncoder();
const pretty = (v: unknown) => enc.encode(`${JSON.stringify(v, null, 2)}\n`);

/** Everything but signature.json, for the chain version about to be signed. */
export async function buildFiles(
  src: BundleSource,
  opts: { key: Pick<SigningKey, 'publicKeyPem' | 'fingerprint'>; player: PlayerAssets; version: number },
): Promise<UnsignedBundle> {
  const session = signedSession(src.session);
  const events = renderEvents(src.events);
  const { blob } = src.recording;
  const prefix = await readSlice(session.id, blob.slice(0, REPORT_CAST_LIMIT));
  const { cast, embeddedBytes } = reportCast(prefix, REPORT_CAST_LIMIT, blob.size);
  const reportInput = {
    session,
    events: parseEvents(events.text).events,
    cast,
    ...(embeddedBytes < blob.size
      ? { castNote: `the player holds the first ${embeddedBytes} of ${blob.size} bytes` }
      : {}),
    player: opts.player,
    signer: opts.key.fingerprint,
    version: opts.version,
  };
  const files = new Map<string, Iterable<Uint8Array>>([
    [FILES.session, [pretty(session)]],
    [FILES.events, [events.bytes]],
    [FILES.report, { [Symbol.iterator]: () => renderReport(reportInput) }],
    [FILES.publicKey, [enc.encode(opts.key.publicKeyPem)]],
  ]);
  // buildManifest's entries, with recording.cast's from its streamed digest.
  const digests = new Map<string, FileDigest>([...files].map(([name, pieces]) => [name, digestOf(pieces)]));
  digests.set(FILES.recording, { sha256: src.recording.sha256, size: blob.size });
  const entries: Record<string, FileDigest> = {};
  for (const name of MANIFEST_FILES) {
    const d = digests.get(name);
    if (d) entries[name] = d;
  }
  const manifest: Manifest = { format: MANIFEST_FORMAT, sessionId: session.id, files: entries };
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
  /** the whole recording's size when `recording` is only its first `limit` bytes */
  total = recording.length,
): {
  cast: Uint8Array;
  embeddedBytes: number;
} {
  if (total <= limit) return { cast: recording, embeddedBytes: recording.length };
  const end = recording.lastIndexOf(0x0a, limit - 1) + 1;
  return { cast: recording.subarray(0, end), embeddedBytes: end };
}

function digestOf(pieces: Iterable<Uint8Array>): FileDigest {
  const hash = createHash('sha256');
  let size = 0;
  for (const p of pieces) {
    hash.update(p);
    size += p.length;
  }
  return { sha256: hash.digest('hex'), size };
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
    recording: { sha256: src.recording.sha256, bytes: src.recording.blob.size },
    events: { sha256: unsigned.events.sha256, count: unsigned.events.count },
    manifest: { sha256: sha256Hex(unsigned.manifestBytes) },
    previous: prev ? documentDigest(prev) : null,
    signedAt: signedAt.toISOString(),
  };
}

/**
 * The .tar.gz as a stream: manifest first so `tar tzf` shows what the bundle claims before what
 * it holds. recording.cast is read again here and must hash as signed, or the stream fails.
 */
export function packBundle(
  unsigned: UnsignedBundle,
  recording: SignedRecording,
  chain: readonly SignatureDocument[],
): AsyncIterable<Uint8Array> {
  const last = chain[chain.length - 1];
  // Sizes as the manifest states them: the files render the same bytes on every pass.
  const file = (name: string): TarEntry => ({
    name,
    size: unsigned.manifest.files[name]?.size ?? 0,
    body: unsigned.files.get(name) ?? [],
  });
  const bytes = (name: string, data: Uint8Array): TarEntry => ({ name, size: data.length, body: [data] });
  const entries: TarEntry[] = [
    bytes(FILES.manifest, unsigned.manifestBytes),
    bytes(FILES.signature, pretty(chain)),
    file(FILES.session),
    { name: FILES.recording, size: recording.blob.size, body: checkedRecording(recording) },
    file(FILES.events),
    file(FILES.report),
    file(FILES.publicKey),
  ];
  const mtime = last ? Math.floor(Date.parse(last.payload.signedAt) / 1000) : 0;
  return writeTarGzStream(entries, { mtime });
}
