// Sealing streams the recording twice (hash, then pack): a recording that changes in between
// must be refused, leaving nothing stored — no signature, no bundle, no temp file.
import { appendFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../common/evidence/format.ts';
import { createEvidence } from '../../server/evidence/evidence.ts';
import { openRecordingFile } from '../../server/evidence/recording-file.ts';
import { createFileSignatureStore } from '../../server/evidence/store.ts';
import { fakePlayer, memoryKey, recording, SESSION_ID, sessionRecord, shimEvents } from './fixture.ts';

const tmp = mkdtempSync(join(tmpdir(), 'evidence-stream-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function evidenceWith(dir: string, openRecording: () => Promise<Blob | null>) {
  const store = {
    ...createFileSignatureStore({ dir }),
    getSession: async () => sessionRecord({ recordingSha256: sha256Hex(recording) }),
    openRecording,
    listEvents: async () => shimEvents,
  };
  return { store, evidence: createEvidence({ store, key: memoryKey(), player: fakePlayer }) };
}

/** The fixture recording, but its bytes differ (same size) from the second read on. */
function blobThatChanges(): Blob {
  const tampered = recording.slice();
  tampered[100] = tampered[100]! ^ 1;
  let reads = 0;
  const blob = new Blob([recording]);
  const changing = {
    size: blob.size,
    slice: (start?: number, end?: number) => blob.slice(start, end),
    stream: () => new Blob([reads++ === 0 ? recording : tampered]).stream(),
  };
  return changing as unknown as Blob;
}

describe('streamed sealing', () => {
  it('refuses a recording that changes between hashing and packing, and stores nothing', async () => {
    const dir = join(tmp, 'changed');
    const { store, evidence } = evidenceWith(dir, async () => blobThatChanges());
    await expect(evidence.seal(SESSION_ID)).rejects.toMatchObject({ code: 'EVIDENCE_RECORDING_MISMATCH' });
    expect(await store.listSignatures(SESSION_ID)).toEqual([]);
    expect(readdirSync(join(dir, SESSION_ID))).toEqual([]);
  });

  it('refuses a recording file written to after it was opened', async () => {
    const cast = join(tmp, 'session.cast');
    writeFileSync(cast, recording);
    const { store, evidence } = evidenceWith(join(tmp, 'appended'), async () => {
      const blob = await openRecordingFile(cast);
      appendFileSync(cast, '[9.9,"o","late"]\n');
      return blob;
    });
    await expect(evidence.seal(SESSION_ID)).rejects.toMatchObject({ code: 'EVIDENCE_RECORDING_MISMATCH' });
    expect(await store.listSignatures(SESSION_ID)).toEqual([]);
  });

  it('signs a recording file as it is; a missing file is no recording', async () => {
    const cast = join(tmp, 'ok.cast');
    writeFileSync(cast, recording);
    const { evidence } = evidenceWith(join(tmp, 'ok'), () => openRecordingFile(cast));
    const { head } = await evidence.seal(SESSION_ID);
    expect(head.payload.recording).toEqual({ sha256: sha256Hex(recording), bytes: recording.length });
    const bundle = await evidence.bundle(SESSION_ID);
    expect(bundle.size).toBeGreaterThan(0);
    expect(await openRecordingFile(join(tmp, 'missing.cast'))).toBeNull();
  });
});
