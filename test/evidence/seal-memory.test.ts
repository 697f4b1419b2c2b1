// Sealing must not hold a recording in memory: a 1 GiB session sealed inside the recorder's 1Gi
// limit would otherwise OOM-kill it and every live session with it. Two seals in fresh processes,
// one small and one 200 MiB larger (both past REPORT_CAST_LIMIT, so report.html embeds the same
// capped prefix): the larger may not cost more, and neither much more than that prefix. (The
// whole-buffer code this replaced grew 567 and 966 MiB here.) The bundle still verifies and
// carries the recording byte for byte.

import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { FILES } from '../../common/evidence/format.ts';
import { readTarGz } from '../../common/evidence/tar.ts';
import { verifyBundle } from '../../common/evidence/verify.ts';
import { REPORT_CAST_LIMIT } from '../../server/evidence/bundle.ts';
import { SESSION_ID } from './fixture.ts';
import { writeLargeCast } from './large-cast.ts';

const MiB = 1024 * 1024;
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function sealInChild(size: number) {
  const dir = mkdtempSync(join(tmpdir(), 'seal-memory-'));
  dirs.push(dir);
  const cast = join(dir, 'session.cast');
  const { sha256, bytes } = writeLargeCast(
    cast,
    size,
    (n) => `line ${n} ${((n * 2654435761) % 2 ** 32).toString(36)} ü output`,
  );
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [join(import.meta.dirname, 'seal-memory.child.ts'), dir, sha256, String(bytes)],
    { maxBuffer: MiB },
  );
  const r = JSON.parse(stdout) as { signed: boolean; beforeKiB: number; peakKiB: number };
  expect(r.signed).toBe(true);
  return { dir, cast, growthMiB: (r.peakKiB - r.beforeKiB) / 1024 };
}

describe('sealing a large recording', () => {
  it('uses memory independent of the recording size, and the bundle verifies', async () => {
    const small = await sealInChild(72 * MiB);
    const large = await sealInChild(272 * MiB);
    console.log(
      `seal peak growth: ${small.growthMiB.toFixed(0)} MiB (72 MiB), ${large.growthMiB.toFixed(0)} MiB (272 MiB)`,
    );
    // Margins are for GC timing (freed read buffers linger until V8 collects them).
    expect(large.growthMiB - small.growthMiB).toBeLessThan(64);
    expect(large.growthMiB).toBeLessThan(REPORT_CAST_LIMIT / MiB + 160);

    const files = readTarGz(readFileSync(join(large.dir, 'evidence', SESSION_ID, '0001.tar.gz')));
    expect(verifyBundle(files).problems).toEqual([]);
    expect(Buffer.from(files.get(FILES.recording)!).equals(readFileSync(large.cast))).toBe(true);
  }, 600_000); // two seals of hundreds of MiB: about 2 minutes alone, over 5 on a busy machine
});
