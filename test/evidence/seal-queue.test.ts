// Background signing: at once when a session ends; for late events spaced out (a minute after
// the last link, doubling to an hour), so a process that keeps exec'ing after its session ended
// does not cost a whole bundle per batch of events. Superseded bundles are not kept.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { SignatureDocument } from '../../common/evidence/format.ts';
import { sha256Hex } from '../../common/evidence/format.ts';
import { readTarGz } from '../../common/evidence/tar.ts';
import { verifyBundle } from '../../common/evidence/verify.ts';
import { createEvidence } from '../../server/evidence/evidence.ts';
import {
  createSealQueue,
  LATE_FIRST_MS,
  LATE_MAX_MS,
  lateSealDelay,
} from '../../server/evidence/seal-queue.ts';
import { createFileSignatureStore } from '../../server/evidence/store.ts';
import { fakePlayer, memoryKey, recording, SESSION_ID, sessionRecord, shimEvents } from './fixture.ts';

const T0 = Date.parse('2026-11-24T10:00:00Z');

function head(version: number, signedAt: number): SignatureDocument {
  return { payload: { version, signedAt: new Date(signedAt).toISOString() } } as SignatureDocument;
}

/** A queue over a fake clock and timer list; `sealed` lists seals in order. */
function rig(heads: Record<string, SignatureDocument | undefined> = {}) {
  let clock = T0;
  const timers: { fn: () => void; at: number; cleared: boolean }[] = [];
  const sealed: string[] = [];
  const logged: string[] = [];
  const q = createSealQueue({
    seal: async (id) => {
      sealed.push(id);
      if (id === 'broken') throw new Error('disk on fire');
    },
    head: async (id) => heads[id],
    log: (l) => logged.push(l),
    now: () => clock,
    timers: {
      set: (fn, ms) => {
        const t = { fn, at: clock + ms, cleared: false };
        timers.push(t);
        return t;
      },
      clear: (t) => {
        (t as { cleared: boolean }).cleared = true;
      },
    },
  });
  return {
    q,
    sealed,
    logged,
    timers,
    /** Moves the clock on and fires what came due. */
    advance(ms: number) {
      clock += ms;
      for (const t of timers) if (!t.cleared && t.at <= clock) t.fn();
    },
  };
}

describe('late signatures are spaced out', () => {
  it('waits a minute after the first signature, then twice as long each time, at most an hour', () => {
    expect(lateSealDelay(head(1, T0))).toBe(LATE_FIRST_MS);
    expect(lateSealDelay(head(2, T0))).toBe(2 * LATE_FIRST_MS);
    expect(lateSealDelay(head(4, T0))).toBe(8 * LATE_FIRST_MS);
    expect(lateSealDelay(head(7, T0))).toBe(LATE_MAX_MS);
    expect(lateSealDelay(head(10_000, T0))).toBe(LATE_MAX_MS);
  });

  it('signs an ended session at once and queued sessions one after another', async () => {
    const r = rig();
    r.q.ended('a');
    r.q.ended('b');
    r.q.ended('broken');
    r.q.ended('c');
    await r.q.drain();
    expect(r.sealed).toEqual(['a', 'b', 'broken', 'c']);
    expect(r.logged.join('\n')).toContain('could not sign session broken: Error: disk on fire');
  });

  it('collapses late batches into one seal when the wait is over', async () => {
    const r = rig({ s: head(1, T0 - 10_000) });
    for (let i = 0; i < 50; i++) r.q.lateEvents('s');
    await expect.poll(() => r.timers.length).toBe(1);
    expect(r.timers[0]!.at).toBe(T0 + LATE_FIRST_MS - 10_000);
    expect(r.q.waiting).toBe(1);
    r.advance(LATE_FIRST_MS - 10_001);
    expect(r.sealed).toEqual([]);
    r.advance(1);
    await r.q.drain();
    expect(r.sealed).toEqual(['s']);
    expect(r.q.waiting).toBe(0);
  });

  it('signs at once when the last signature is old enough, or there is none', async () => {
    const r = rig({ old: head(3, T0 - 4 * LATE_FIRST_MS), never: undefined });
    r.q.lateEvents('old');
    r.q.lateEvents('never');
    await expect.poll(() => r.sealed.length).toBe(2);
    expect(r.sealed.sort()).toEqual(['never', 'old']);
    expect(r.timers).toEqual([]);
  });

  it('signs what waits when the recorder shuts down', async () => {
    const r = rig({ s: head(2, T0) });
    r.q.lateEvents('s');
    await expect.poll(() => r.timers.length).toBe(1);
    await r.q.drain();
    expect(r.sealed).toEqual(['s']);
    expect(r.timers[0]!.cleared).toBe(true);
  });
});

describe('bundles superseded by a later signature', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'evidence-prune-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('keeps every signature document but only the latest two bundles', async () => {
    const dir = join(tmp, 'evidence');
    const files = createFileSignatureStore({ dir });
    const events = [...shimEvents];
    const evidence = createEvidence({
      store: {
        ...files,
        getSession: async () => sessionRecord({ recordingSha256: sha256Hex(recording) }),
        openRecording: async () => new Blob([recording]),
        listEvents: async () => events,
      },
      key: memoryKey(),
      player: fakePlayer,
    });
    for (let v = 1; v <= 4; v++) {
      if (v > 1) events.push({ ...structuredClone(shimEvents[2]!), auditSerial: 9000 + v });
      expect(await evidence.seal(SESSION_ID)).toMatchObject({
        signed: true,
        head: { payload: { version: v } },
      });
    }
    expect(readdirSync(join(dir, SESSION_ID)).sort()).toEqual([
      '0001.json',
      '0002.json',
      '0003.json',
      '0003.tar.gz',
      '0004.json',
      '0004.tar.gz',
    ]);
    const latest = new Uint8Array(await (await evidence.bundle(SESSION_ID)).arrayBuffer());
    expect(verifyBundle(readTarGz(latest))).toMatchObject({ ok: true, chainLength: 4 });
  });
});
