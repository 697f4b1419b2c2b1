// The evidence service: sign at session end, sign again (chained) only when something changed,
// refuse recordings altered after the fact, and keep concurrent seals from forking the chain.
import { describe, expect, it } from 'vitest';
import { FILES, sha256Hex } from '../../common/evidence/format.ts';
import { readTarGz } from '../../common/evidence/tar.ts';
import { verifyBundle } from '../../common/evidence/verify.ts';
import { createEvidence } from '../../server/evidence/evidence.ts';
import {
  bundleBytes,
  fakePlayer,
  memoryKey,
  recording,
  SESSION_ID,
  seededStore,
  sessionRecord,
  shimEvents,
} from './fixture.ts';

const clock = () => new Date('2026-11-23T22:30:00.000Z');

describe('evidence service', () => {
  it('signs once at session end and is idempotent afterwards', async () => {
    const store = seededStore();
    const evidence = createEvidence({ store, key: memoryKey(), player: fakePlayer, clock });
    const first = await evidence.seal(SESSION_ID);
    expect(first.signed).toBe(true);
    expect(first.head.payload).toMatchObject({
      version: 1,
      previous: null,
      signedAt: '2026-11-23T22:30:00.000Z',
      recording: { sha256: sha256Hex(recording), bytes: recording.length },
      events: { count: 8 },
    });
    expect((await evidence.seal(SESSION_ID)).signed).toBe(false);
    expect(store.chains.get(SESSION_ID)!.docs).toHaveLength(1);
  });

  it('signs version 2 when late events or metadata change, and concurrent seals do not fork', async () => {
    const store = seededStore();
    const evidence = createEvidence({ store, key: memoryKey(), player: fakePlayer, clock });
    await evidence.seal(SESSION_ID);
    const late = structuredClone(shimEvents[2]!);
    late.auditSerial = 9999;
    store.events.set(SESSION_ID, [...shimEvents, late]);
    store.sessions.set(SESSION_ID, sessionRecord({ commandCount: 8 }));
    const results = await Promise.all([evidence.seal(SESSION_ID), evidence.seal(SESSION_ID)]);
    expect(results.map((r) => r.signed)).toEqual([true, false]);
    expect(store.chains.get(SESSION_ID)!.docs.map((d) => d.payload.version)).toEqual([1, 2]);
    const files = readTarGz(await bundleBytes(store.readBundle(SESSION_ID)));
    expect(verifyBundle(files)).toMatchObject({ ok: true, chainLength: 2, commands: 8 });
  });

  it('does not re-sign for a legal hold (not part of the signed metadata)', async () => {
    const store = seededStore();
    const evidence = createEvidence({ store, key: memoryKey(), player: fakePlayer, clock });
    await evidence.seal(SESSION_ID);
    store.sessions.set(SESSION_ID, sessionRecord({ legalHold: true }));
    expect((await evidence.seal(SESSION_ID)).signed).toBe(false);
    const files = readTarGz(await bundleBytes(evidence.bundle(SESSION_ID)));
    expect(JSON.parse(new TextDecoder().decode(files.get(FILES.session)))).not.toHaveProperty('legalHold');
  });

  it('refuses to sign a recording that no longer matches the running digest', async () => {
    const store = seededStore();
    store.sessions.set(SESSION_ID, sessionRecord({ recordingSha256: sha256Hex('something else') }));
    const evidence = createEvidence({ store, key: memoryKey(), player: fakePlayer, clock });
    await expect(evidence.seal(SESSION_ID)).rejects.toMatchObject({ code: 'EVIDENCE_RECORDING_MISMATCH' });
    store.sessions.set(SESSION_ID, sessionRecord({ recordingSha256: sha256Hex(recording) }));
    expect((await evidence.seal(SESSION_ID)).signed).toBe(true);
  });

  it('refuses running sessions and unknown ids with stable codes', async () => {
    const store = seededStore();
    store.sessions.set(SESSION_ID, sessionRecord({ state: 'running', endedAt: undefined }));
    const evidence = createEvidence({ store, key: memoryKey(), player: fakePlayer, clock });
    await expect(evidence.bundle(SESSION_ID)).rejects.toMatchObject({ code: 'EVIDENCE_SESSION_RUNNING' });
    await expect(evidence.seal('00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({
      code: 'EVIDENCE_NOT_FOUND',
    });
    await expect(evidence.seal('../../etc')).rejects.toMatchObject({ code: 'EVIDENCE_BAD_ID' });
  });
});
