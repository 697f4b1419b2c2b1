// Offline verification of an evidence bundle. Every problem is one sentence that starts with the
// file (or "bundle") it is about, so an auditor knows exactly what failed. The bundle is read as
// it streams (bundle-contents.ts): a recording of GiBs is hashed and checked line by line, never
// held whole; a bundle already in memory goes through the same path.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { BundleContents, type Contents } from './bundle-contents.ts';
import { canonicalJson } from './canonical-json.ts';
import { parseEvents } from './events.ts';
import {
  FILES,
  keyFingerprint,
  MANIFEST_FILES,
  MANIFEST_FORMAT,
  type Manifest,
  type SignatureDocument,
  type SignedSession,
  sameFingerprint,
} from './format.ts';
import { parseChain, verifyChain } from './signature.ts';
import type { FileMap } from './tar.ts';

export interface VerifyOptions {
  /** PEM of the key the bundle must be signed with (--key) */
  publicKeyPem?: string;
  /** fingerprint the signer must have (--fingerprint) */
  fingerprint?: string;
  /** where publicKeyPem came from, for the summary (default "--key") */
  keySource?: string;
}

/** key/fingerprint: checked against what the caller trusts; self: only against the bundle's own
 *  key, which proves nothing about who signed it (whoever re-signs a bundle ships their key in it). */
export type Trust = 'key' | 'fingerprint' | 'self';

export interface VerifyReport {
  ok: boolean;
  problems: string[];
  trust: Trust;
  /** what pinned the key (trust 'key'): "--key", or e.g. "the recorder at https://…" */
  keySource?: string;
  signer: string | null;
  chainLength: number;
  session: SignedSession | null;
  commands: number;
  alerts: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** One member of a bundle, its body read once, in order (what tar-read.ts yields). */
export interface BundleEntry {
  name: string;
  size: number;
  body: Iterable<Uint8Array> | AsyncIterable<Uint8Array>;
}

/** Verifies a bundle as its members stream past; a reading error (a damaged archive) rejects. */
export async function verifyBundleStream(
  entries: Iterable<BundleEntry> | AsyncIterable<BundleEntry>,
  options: VerifyOptions = {},
): Promise<VerifyReport> {
  const read = new BundleContents();
  for await (const entry of entries) {
    const sink = read.open(entry.name, entry.size);
    for await (const chunk of entry.body) sink.write(chunk);
    sink.end();
  }
  return check(read.contents, options);
}

/** Verifies a bundle held in memory (readTarGz's map). */
export function verifyBundle(files: FileMap, options: VerifyOptions = {}): VerifyReport {
  const read = new BundleContents();
  for (const [name, data] of files) {
    const sink = read.open(name, data.length);
    sink.write(data);
    sink.end();
  }
  return check(read.contents, options);
}

function check(c: Contents, options: VerifyOptions): VerifyReport {
  const problems: string[] = [];
  const trust: Trust = options.publicKeyPem ? 'key' : options.fingerprint ? 'fingerprint' : 'self';
  const files = c.held;
  const present = new Set(c.names);
  const text = (name: string) => utf8.decode(files.get(name) ?? new Uint8Array());

  for (const name of [FILES.manifest, FILES.signature]) {
    if (!present.has(name)) problems.push(`bundle: missing ${name}`);
  }
  const manifest = readManifest(files, problems);
  checkListing(c, manifest, problems);

  const key = chooseKey(files, options, problems);
  const parsed = present.has(FILES.signature)
    ? parseChain(text(FILES.signature))
    : { chain: [], problems: [] };
  problems.push(...parsed.problems);
  const chain = parsed.chain;
  if (key && chain.length) problems.push(...verifyChain(chain, key));
  const latest = chain[chain.length - 1];
  if (latest) checkAgainstSigned(latest, c, manifest, problems);

  const events = present.has(FILES.events) ? parseEvents(text(FILES.events)) : { events: [], problems: [] };
  problems.push(...events.problems);
  if (c.castProblem) problems.push(`recording.cast: ${c.castProblem.message}`);
  return {
    ok: problems.length === 0,
    problems,
    trust,
    ...(trust === 'key' ? { keySource: options.keySource ?? '--key' } : {}),
    signer: key ? keyFingerprint(key) : null,
    chainLength: chain.length,
    session: latest?.payload.session ?? null,
    commands: events.events.filter((e) => e.kind === 'exec').length,
    alerts: events.events.filter((e) => e.kind === 'alert').length,
  };
}

/** The manifest lists exactly the bundle's files, with their digests and sizes. */
function checkListing(c: Contents, manifest: Manifest | null, problems: string[]): void {
  if (manifest) {
    for (const name of MANIFEST_FILES) {
      const entry = manifest.files[name];
      const actual = c.digests.get(name);
      if (!entry) problems.push(`manifest.json: does not list ${name}`);
      else if (!actual) problems.push(`manifest.json: missing file ${name}`);
      else if (actual.sha256 !== entry.sha256) {
        problems.push(`${name}: sha256 mismatch (manifest says ${entry.sha256}, file is ${actual.sha256})`);
      } else if (actual.size !== entry.size) {
        problems.push(`${name}: size mismatch (manifest says ${entry.size}, file is ${actual.size})`);
      }
    }
    for (const name of Object.keys(manifest.files)) {
      if (!MANIFEST_FILES.includes(name)) problems.push(`manifest.json: lists unexpected file ${name}`);
    }
  }
  for (const name of c.names) {
    if (name !== FILES.manifest && name !== FILES.signature && !MANIFEST_FILES.includes(name)) {
      problems.push(`bundle: unexpected file ${name} (not covered by the manifest)`);
    }
  }
}

function readManifest(files: FileMap, problems: string[]): Manifest | null {
  const data = files.get(FILES.manifest);
  if (!data) return null;
  try {
    const m = JSON.parse(utf8.decode(data)) as Manifest;
    if (m?.format === MANIFEST_FORMAT && typeof m.files === 'object' && m.files !== null) return m;
  } catch {
    // reported below
  }
  problems.push(`manifest.json: not an ${MANIFEST_FORMAT} manifest`);
  return null;
}

/** The key signatures are checked with: the caller's, else the bundle's own. */
function chooseKey(files: FileMap, options: VerifyOptions, problems: string[]): KeyObject | null {
  const bundled = parseKey(files.get(FILES.publicKey), 'public-key.pem', problems);
  if (options.publicKeyPem) {
    const expected = parseKey(new TextEncoder().encode(options.publicKeyPem), '--key', problems);
    if (expected && bundled && keyFingerprint(bundled) !== keyFingerprint(expected)) {
      problems.push(
        `signature: not signed by the expected key (fingerprint ${keyFingerprint(expected)}; bundle is signed by ${keyFingerprint(bundled)})`,
      );
    }
    return expected;
  }
  if (options.fingerprint && bundled && !sameFingerprint(keyFingerprint(bundled), options.fingerprint)) {
    problems.push(
      `signature: not signed by the expected key (fingerprint ${options.fingerprint}; bundle is signed by ${keyFingerprint(bundled)})`,
    );
  }
  return bundled;
}

function parseKey(data: Uint8Array | undefined, label: string, problems: string[]): KeyObject | null {
  if (!data) {
    problems.push(`${label === '--key' ? label : 'bundle'}: missing ${label}`);
    return null;
  }
  try {
    const key = createPublicKey(utf8.decode(data));
    if (key.asymmetricKeyType === 'ed25519') return key;
  } catch {
    // reported below
  }
  problems.push(`${label}: not an Ed25519 public key in PEM form`);
  return null;
}

/** The latest signature must describe exactly the files in the bundle. */
function checkAgainstSigned(
  doc: SignatureDocument,
  c: Contents,
  manifest: Manifest | null,
  problems: string[],
): void {
  const p = doc.payload;
  const manifestDigest = c.digests.get(FILES.manifest);
  if (manifestDigest && manifestDigest.sha256 !== p.manifest?.sha256) {
    problems.push('manifest.json: digest differs from the signed manifest digest');
  }
  if (manifest && manifest.sessionId !== p.sessionId) {
    problems.push('manifest.json: sessionId does not match the signed session id');
  }
  const d = c.digests.get(FILES.recording);
  if (d) {
    if (d.sha256 !== p.recording?.sha256 || d.size !== p.recording?.bytes) {
      problems.push(
        `recording.cast: digest differs from the signed recording digest (signed ${p.recording?.sha256}, file is ${d.sha256})`,
      );
    }
  }
  const events = c.digests.get(FILES.events);
  if (events && events.sha256 !== p.events?.sha256) {
    problems.push(
      `events.jsonl: digest differs from the signed events digest (signed ${p.events?.sha256}, file is ${events.sha256})`,
    );
  }
  const sessionData = c.held.get(FILES.session);
  if (sessionData) {
    let session: Record<string, unknown> | null = null;
    try {
      session = JSON.parse(utf8.decode(sessionData));
    } catch {
      problems.push('session.json: not JSON');
    }
    if (session) {
      const signed = (p.session ?? {}) as Record<string, unknown>;
      if (session.id !== p.sessionId || signed.id !== p.sessionId) {
        problems.push('session.json: id does not match the signed session id');
      }
      const keys = [...new Set([...Object.keys(session), ...Object.keys(signed)])].sort();
      for (const k of keys) {
        if (k !== 'id' && canonicalJson(session[k] ?? null) !== canonicalJson(signed[k] ?? null)) {
          problems.push(`session.json: ${k} does not match the signed session metadata`);
        }
      }
    }
  }
}

/** The short human summary `verify` prints on success. */
export function summarize(report: VerifyReport): string[] {
  const s = report.session;
  const target = s
    ? s.kind === 'node-debug'
      ? `node/${s.node ?? '?'}`
      : `${s.namespace ?? '?'}/${s.pod ?? '?'}${s.container ? ` (${s.container})` : ''}`
    : '?';
  const trust =
    report.trust === 'self'
      ? 'UNVERIFIED SIGNER: self-consistent only; pin the signer with --key, --fingerprint or --server'
      : `OK, signed by the expected key (${report.trust === 'key' ? (report.keySource ?? '--key') : '--fingerprint'})`;
  return [
    `session:   ${s?.id ?? '?'} (${s?.kind ?? '?'}, ${s?.state ?? '?'})`,
    `user:      ${s?.user ?? '?'}${s?.impersonator ? ` (impersonated by ${s.impersonator})` : ''}`,
    `target:    ${target}`,
    `command:   ${(s?.command ?? []).join(' ')}`,
    `start/end: ${s?.startedAt ?? '?'} → ${s?.endedAt ?? '?'}`,
    ...(s?.terminatedBy
      ? [`ended by:  ${s.terminatedBy}: ${JSON.stringify(s.terminationReason ?? '')}`]
      : []),
    `commands:  ${report.commands} attributed, ${report.alerts} alerts`,
    `signer:    ${report.signer ?? '?'}`,
    `chain:     ${report.chainLength} signature${report.chainLength === 1 ? '' : 's'}`,
    `result:    ${trust}`,
  ];
}
