// The shipper's disk spool: what is sent comes from memory while recent and from disk otherwise,
// seqs never repeat across restarts, and an append after a crash never joins a torn line.
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ShimEvent } from '../../common/wire.ts';
import { Spool } from '../../shim/spool.ts';
import { skipE2E } from '../support/prereq.ts';
import { fillDisk, mountTmpfs } from '../support/small-disk.ts';

const dirs: string[] = [];
function spoolDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'ae-shim-spool-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const event = (serial: number): Omit<ShimEvent, 'seq'> => ({
  node: 'n1',
  bootId: 'b',
  auditSerial: serial,
  auditTime: `1795000000.${String(serial % 1000).padStart(3, '0')}`,
  containerId: null,
  kind: 'exec',
  raw: [`type=SYSCALL msg=audit(1795000000.000:${serial}): x=${'y'.repeat(100)}`],
});
const serials = (json: string[]) => json.map((j) => (JSON.parse(j) as ShimEvent).auditSerial);
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

describe('Spool', () => {
  it('serves recent events from memory and older ones from disk, in seq order', () => {
    // ~200 bytes an event: 4 KiB of memory holds the last ~20.
    const spool = new Spool({ dir: spoolDir(), memoryBytes: 4096, segmentBytes: 2048 });
    spool.append(range(1, 100).map(event));
    const got: number[] = [];
    for (let after = 0; ; ) {
      const { json, lastSeq } = spool.readJson(after, 7);
      if (json.length === 0) break;
      expect(lastSeq).toBe(after + json.length);
      got.push(...serials(json));
      after = lastSeq;
    }
    expect(got).toEqual(range(1, 100));
    expect(serials(spool.readJson(95, 10).json)).toEqual(range(96, 100));
    expect(spool.readJson(100, 10).json).toEqual([]);
  });

  it('keeps seqs and unacked events across a restart, and deletes acked segments', () => {
    const dir = spoolDir();
    let spool = new Spool({ dir, segmentBytes: 2048 });
    spool.append(range(1, 50).map(event));
    spool.ack(40);
    spool.flush();
    expect(Number(readFileSync(join(dir, 'acked'), 'utf8'))).toBe(40);
    spool = new Spool({ dir, segmentBytes: 2048 });
    expect(spool.lastSeq).toBe(50);
    expect(spool.pending).toBe(10);
    expect(serials(spool.readJson(40, 100).json)).toEqual(range(41, 50));
    spool.ack(50);
    expect(readdirSync(dir).filter((n) => n.startsWith('seg-'))).toEqual([]);
    // Every segment gone: the acked file alone must carry the seq on.
    spool = new Spool({ dir, segmentBytes: 2048 });
    expect(spool.append([event(51)])[0]!.seq).toBe(51);
  });

  it('starts a new segment after a restart, so a torn last line stays alone', () => {
    const dir = spoolDir();
    let spool = new Spool({ dir });
    spool.append(range(1, 3).map(event));
    const [seg] = readdirSync(dir).filter((n) => n.startsWith('seg-'));
    appendFileSync(join(dir, seg!), '{"seq":4,"node":"n1","bo'); // killed mid-append
    spool = new Spool({ dir });
    spool.append([event(4)]);
    spool = new Spool({ dir });
    expect(serials(spool.readJson(0, 10).json)).toEqual([1, 2, 3, 4]);
  });
});

describe.skipIf(skipE2E('spool on a full disk', 'root'))('Spool on a full disk', () => {
  it('refuses an append whole (no seq used, no torn line) and takes it once there is room', () => {
    const dir = spoolDir();
    const unmount = mountTmpfs(dir, '64k');
    try {
      const spool = new Spool({ dir, ackWriteMs: 0 });
      spool.append(range(1, 20).map(event));
      const filler = join(dir, 'filler');
      fillDisk(filler);
      const err = (() => {
        try {
          spool.append(range(21, 60).map(event));
        } catch (e) {
          return e as Error & { code?: string };
        }
        return null;
      })();
      expect(err?.code).toBe('SHIM_SPOOL_WRITE');
      expect(err?.message).toMatch(/the spool's disk is full \(ENOSPC\) in .*events wait in memory/);
      expect(spool.lastSeq).toBe(20);
      // An ack that cannot write down the acked seq keeps the segment (a restart resends, once).
      spool.ack(20);
      expect(readdirSync(dir).some((n) => n.startsWith('seg-'))).toBe(true);
      // Whatever reached the segment was taken back: what a restart reads is exactly 1..20.
      expect(serials(new Spool({ dir }).readJson(0, 100).json)).toEqual(range(1, 20));
      rmSync(filler);
      const again = spool.append(range(21, 60).map(event));
      expect(again.map((e) => e.seq)).toEqual(range(21, 60));
      expect(serials(spool.readJson(20, 100).json)).toEqual(range(21, 60));
      writeFileSync(join(dir, 'probe'), 'x'); // room again for the acked file
      spool.ack(60);
      expect(readdirSync(dir).filter((n) => n.startsWith('seg-'))).toEqual([]);
      expect(serials(new Spool({ dir }).readJson(0, 100).json)).toEqual([]);
    } finally {
      unmount();
    }
  });
});
