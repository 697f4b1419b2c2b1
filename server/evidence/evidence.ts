// The evidence service: signs a session when it ends, signs a new chain version when late shim
// events change what it vouched for, and hands out the sealed bundle. Idempotent: calling
// seal() again with nothing new returns the current signature without signing.

import { AuditedExecError } from '../../common/errors.ts';
import { canonicalJson } from '../../common/evidence/canonical-json.ts';
import { renderEvents } from '../../common/evidence/events.ts';
import { type SignatureDocument, signedSession } from '../../common/evidence/format.ts';
import { buildFiles, nextPayload, packBundle, signDocument } from './bundle.ts';
import { loadPlayerAssets, type PlayerAssets } from './player-assets.ts';
import { hashRecording } from './recording-file.ts';
import type { SigningKey } from './signing-key.ts';
import { checkSessionId, type EvidenceStore } from './store.ts';

export interface EvidenceOptions {
  store: EvidenceStore;
  key: SigningKey;
  player?: PlayerAssets;
  clock?: () => Date;
}

export interface SealResult {
  /** true when this call signed a new version */
  signed: boolean;
  head: SignatureDocument;
}

export interface Evidence {
  /** Sign the session (state ended/interrupted/refused) if it is unsigned or changed since. */
  seal(id: string): Promise<SealResult>;
  /** The sealed .tar.gz (read it in pieces), sealing first if the session changed since the last signature. */
  bundle(id: string): Promise<Blob>;
}

export function createEvidence(options: EvidenceOptions): Evidence {
  const { store, key } = options;
  const clock = options.clock ?? (() => new Date());
  // One seal at a time per session in this process: otherwise two late events race to version N.
  const inflight = new Map<string, Promise<SealResult>>();

  async function sealNow(id: string): Promise<SealResult> {
    const session = await store.getSession(id);
    if (!session) throw new AuditedExecError('EVIDENCE_NOT_FOUND', `session ${id} does not exist`);
    if (session.state === 'pending' || session.state === 'running') {
      throw new AuditedExecError(
        'EVIDENCE_SESSION_RUNNING',
        `session ${id} is still ${session.state}; evidence is signed when it ends`,
      );
    }
    const [events, chain] = await Promise.all([store.listEvents(id), store.listSignatures(id)]);
    const head = chain.at(-1);
    const rendered = renderEvents(events);
    if (
      head &&
      head.payload.events.sha256 === rendered.sha256 &&
      canonicalJson(head.payload.session) === canonicalJson(signedSession(session))
    ) {
      return { signed: false, head };
    }
    const blob = (await store.openRecording(id)) ?? new Blob([]);
    const digest = await hashRecording(id, blob);
    // The store kept a running SHA-256 while recording; a file that hashes differently now was
    // changed on disk after the fact, and signing it would launder the change.
    if (session.recordingSha256 && session.recordingSha256 !== digest) {
      throw new AuditedExecError(
        'EVIDENCE_RECORDING_MISMATCH',
        `recording of session ${id} no longer matches the digest taken while recording (${session.recordingSha256}); refusing to sign`,
      );
    }
    if (head && head.payload.recording.sha256 !== digest) {
      throw new AuditedExecError(
        'EVIDENCE_RECORDING_MISMATCH',
        `recording of session ${id} changed since signature version ${head.payload.version}; refusing to sign`,
      );
    }
    const player = options.player ?? (await loadPlayerAssets());
    const src = { session, recording: { sessionId: id, blob, sha256: digest }, events };
    const unsigned = await buildFiles(src, { key, player, version: chain.length + 1 });
    const doc = signDocument(key, nextPayload(unsigned, src, chain, clock()));
    await store.appendSignature(id, doc, packBundle(unsigned, src.recording, [...chain, doc]));
    return { signed: true, head: doc };
  }

  async function seal(id: string): Promise<SealResult> {
    checkSessionId(id);
    const prior = inflight.get(id) ?? Promise.resolve();
    // Chain after the running seal (whatever its outcome), so late events seen meanwhile get signed.
    const run = prior.then(
      () => sealNow(id),
      () => sealNow(id),
    );
    inflight.set(id, run);
    const clear = () => {
      if (inflight.get(id) === run) inflight.delete(id);
    };
    run.then(clear, clear);
    return run;
  }

  return {
    seal,
    async bundle(id) {
      await seal(id);
      const bytes = await store.readBundle(id);
      if (!bytes) throw new AuditedExecError('EVIDENCE_NOT_FOUND', `no evidence bundle for session ${id}`);
      return bytes;
    },
  };
}
