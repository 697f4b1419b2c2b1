// Verifying must not hold a recording in memory either: an auditor's `kubectl audited-exec verify`
// of a 1 GiB session once failed on V8's string limit after growing to 4.9 GB. A bundle with a
// 640 MiB recording is verified in a fresh process: it passes, its peak resident set stays far
// below the recording's size (what verifying adds to the CLI's baseline is independent of it),
// and one flipped byte deep inside the recording is still caught and named. (The whole-buffer
// code this replaced failed here with "Cannot create a string longer than 0x1fffffe8 characters".)

import { execFile } from 'node:child_process';
import { createWriteStream, mkdtempSync, openAsBlob, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { createGzip } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FILES } from '../../common/evidence/format.ts';
import { type TarEntry, tarEnd, tarMemberStream } from '../../common/evidence/tar.ts';
import { buildFiles, nextPayload, signDocument, type UnsignedBundle } from '../../server/evidence/bundle.ts';
import { fakePlayer, memoryKey, SESSION_ID, sessionRecord, shimEvents } from './fixture.ts';
import { writeLargeCast } from './large-cast.ts';

const MiB = 1024 * 1024;
const CAST_SIZE = 640 * MiB;
/** Where the flipped byte goes: past the 64 MiB report.html embeds, far into the file. */
const FLIP_AT = 600 * MiB;
const tmp = mkdtempSync(join(tmpdir(), 'verify-large-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** packBundle's archive, gzipped fast (level 1) to keep the test short; `flip` alters one byte. */
async function pack(path: string, unsigned: UnsignedBundle, chain: string, cast: string, flip?: number) {
  async function* recording() {
    let at = 0;
    for await (const chunk of (await openAsBlob(cast)).stream()) {
      if (flip !== undefined && flip >= at && flip < at + chunk.length) {
        const copy = Buffer.from(chunk);
        copy[flip - at] = copy[flip - at]! ^ 0x01;
        yield copy;
      } else yield chunk;
      at += chunk.length;
    }
  }
  const file = (name: string): TarEntry => ({
    name,
    size: unsigned.manifest.files[name]!.size,
    body: unsigned.files.get(name)!,
  });
  const entries: TarEntry[] = [
    { name: FILES.manifest, size: unsigned.manifestBytes.length, body: [unsigned.manifestBytes] },
    { name: FILES.signature, size: Buffer.byteLength(chain), body: [Buffer.from(chain)] },
    file(FILES.session),
    { name: FILES.recording, size: unsigned.manifest.files[FILES.recording]!.size, body: recording() },
    file(FILES.events),
    file(FILES.report),
    file(FILES.publicKey),
  ];
  async function* tar() {
    for (const entry of entries) yield* tarMemberStream(entry);
    yield tarEnd();
  }
  await pipeline(tar(), createGzip({ level: 1 }), createWriteStream(path));
}

async function verifyInChild(file: string) {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [join(import.meta.dirname, 'verify-large.child.ts'), file, signer],
    { maxBuffer: 16 * MiB },
  );
  const r = JSON.parse(stdout) as {
    code: number | null;
    stdout: string;
    stderr: string;
    thrown: string | null;
    beforeKiB: number;
    peakKiB: number;
  };
  return { ...r, peakMiB: r.peakKiB / 1024, growthMiB: (r.peakKiB - r.beforeKiB) / 1024 };
}

const good = join(tmp, 'good.tar.gz');
/** the fingerprint the child pins (verify without a pinned signer exits 3) */
let signer = '';
const flipped = join(tmp, 'flipped.tar.gz');

beforeAll(async () => {
  const cast = join(tmp, 'session.cast');
  const { sha256, bytes } = writeLargeCast(cast, CAST_SIZE, (n) =>
    `${n} ${((n * 2654435761) % 2 ** 32).toString(36)} ü \x1b[32mok\x1b[0m `.repeat(20),
  );
  const key = memoryKey();
  signer = key.fingerprint;
  const src = {
    session: sessionRecord({ recordingSha256: sha256, recordingBytes: bytes }),
    recording: { sessionId: SESSION_ID, blob: await openAsBlob(cast), sha256 },
    events: shimEvents,
  };
  const unsigned = await buildFiles(src, { key, player: fakePlayer, version: 1 });
  const doc = signDocument(key, nextPayload(unsigned, src, [], new Date('2026-11-23T22:30:00Z')));
  const chain = `${JSON.stringify([doc], null, 2)}\n`;
  await pack(good, unsigned, chain, cast);
  await pack(flipped, unsigned, chain, cast, FLIP_AT);
  rmSync(cast);
}, 120_000);

describe('verifying a bundle with a large recording', () => {
  it('passes with a peak resident set far below the recording size', async () => {
    const r = await verifyInChild(good);
    console.log(
      `verify of a ${CAST_SIZE / MiB} MiB recording: peak RSS ${r.peakMiB.toFixed(0)} MiB, ` +
        `${r.growthMiB.toFixed(0)} MiB above the CLI's baseline`,
    );
    expect(r.thrown).toBeNull();
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`session:   ${SESSION_ID} (exec, ended)`);
    expect(r.stdout).toContain('commands:  7 attributed, 1 alerts');
    expect(r.peakMiB).toBeLessThan(CAST_SIZE / MiB / 2);
    // Margin for GC timing: inflated chunks linger until V8 collects them (up to ~64 MiB of them,
    // longer on a loaded machine); seen: 50-110 MiB.
    expect(r.growthMiB).toBeLessThan(160);
  }, 120_000);

  it('catches one flipped byte deep inside the recording, naming recording.cast', async () => {
    const r = await verifyInChild(flipped);
    expect(r.thrown).toBeNull();
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /verification FAILED\n {2}recording\.cast: sha256 mismatch \(manifest says [0-9a-f]{64}, file is [0-9a-f]{64}\)\n/,
    );
    expect(r.stderr).toMatch(/\n {2}recording\.cast: digest differs from the signed recording digest/);
    expect(r.peakMiB).toBeLessThan(CAST_SIZE / MiB / 2);
    expect(r.growthMiB).toBeLessThan(160);
  }, 120_000);
});
