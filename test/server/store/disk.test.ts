// The data disk's reserve: the pure judgement, and the ballast file on a real 1 MiB tmpfs.
import { appendFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BALLAST_FILE, DiskReserve, defaultLimits, judgeDisk } from '../../../server/store/disk.ts';
import { skipE2E } from '../../support/prereq.ts';
import { mountTmpfs } from '../../support/small-disk.ts';

const KiB = 1024;
const limits = { ballastBytes: 64 * KiB, lowWaterBytes: 16 * KiB };

describe('judgeDisk', () => {
  it('is full below the low-water mark while the reserve is held', () => {
    expect(judgeDisk({ freeBytes: 20 * KiB, totalBytes: 1e6, ballastHeld: true }, limits).full).toBe(false);
    const s = judgeDisk({ freeBytes: 10 * KiB, totalBytes: 1e6, ballastHeld: true }, limits);
    expect(s).toMatchObject({ full: true, restoreBallast: false });
    expect(s.reason).toMatch(/^the recorder's disk is full; .*\(10 KiB free, 16 KiB needed\)$/);
  });

  it('stays full after the reserve was released until there is room to restore it', () => {
    const low = judgeDisk({ freeBytes: 70 * KiB, totalBytes: 1e6, ballastHeld: false }, limits);
    expect(low).toMatchObject({ full: true, restoreBallast: false });
    expect(low.reason).toMatch(/80 KiB needed to restore the reserve/);
    expect(judgeDisk({ freeBytes: 80 * KiB, totalBytes: 1e6, ballastHeld: false }, limits)).toMatchObject({
      full: false,
      restoreBallast: true,
    });
  });

  it('sizes the reserve from the disk: a tiny tmpfs and a large volume both get a sane one', () => {
    expect(defaultLimits(256 * KiB)).toEqual({ ballastBytes: 32 * KiB, lowWaterBytes: 8 * KiB });
    expect(defaultLimits(1e12)).toEqual({ ballastBytes: 16 * 1024 * KiB, lowWaterBytes: 64 * 1024 * KiB });
  });
});

describe.skipIf(skipE2E('store: disk reserve on tmpfs', 'root'))('DiskReserve on a 1 MiB tmpfs', () => {
  let dir: string;
  let unmount = (): void => {};
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'server-store-disk-'));
    unmount = mountTmpfs(dir, '1m');
  });
  afterAll(() => {
    if (!dir) return;
    unmount();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes the ballast, releases it on demand, and restores it once space is freed', () => {
    const logs: string[] = [];
    const disk = new DiskReserve({ dataDir: dir, log: (l) => logs.push(l) });
    expect(disk.limits).toEqual({ ballastBytes: 128 * KiB, lowWaterBytes: 32 * KiB });
    expect(disk.start().full).toBe(false);
    expect(statSync(join(dir, BALLAST_FILE)).size).toBe(128 * KiB);

    const junk = join(dir, 'junk');
    try {
      for (;;) appendFileSync(junk, Buffer.alloc(4 * KiB));
    } catch (err) {
      expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
    }
    expect(disk.check()).toMatchObject({ full: true });
    expect(disk.release()).toBe(true);
    expect(disk.release()).toBe(false);
    expect(logs.join('\n')).toMatch(/released the 128 KiB reserve/);
    // The freed reserve is room for the database, not for new sessions.
    const after = disk.check();
    expect(after.freeBytes).toBeGreaterThanOrEqual(128 * KiB);
    expect(after.full).toBe(true);
    expect(disk.held()).toBe(false);

    rmSync(junk);
    expect(disk.check().full).toBe(false);
    expect(disk.held()).toBe(true);
  });
});
