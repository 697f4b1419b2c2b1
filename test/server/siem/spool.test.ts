// The spool on a real file system: what is appended survives a reopen (a restart) with each sink's
// cursor, a line cut short is no event, the size limit drops the oldest undelivered events loudly,
// and a full disk (a real tmpfs) loses nothing already spooled and says so.
import { appendFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Spool } from '../../../server/siem/spool.ts';
import { missing } from '../../support/prereq.ts';
import { fillDisk, mountTmpfs } from '../../support/small-disk.ts';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'siem-spool-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const event = (i: number, pad = 0) => JSON.stringify({ id: `e${i}`, pad: 'x'.repeat(pad) });

describe('SIEM spool', () => {
  it('keeps events and per-sink cursors across a reopen, and reads from a cursor in order', async () => {
    const dir = tempDir();
    const log: string[] = [];
    const a = new Spool({
      dir,
      sinks: ['one', 'two'],
      maxBytes: 1 << 20,
      segmentBytes: 200,
      log: (l) => log.push(l),
    });
    for (let i = 0; i < 20; i++) a.append(event(i));
    const first = await a.read(a.cursor('one'), 7);
    expect(first.lines.map((l) => JSON.parse(l).id)).toEqual(['e0', 'e1', 'e2', 'e3', 'e4', 'e5', 'e6']);
    a.commit('one', first.next);
    expect([a.backlog('one'), a.backlog('two')]).toEqual([13, 20]);
    a.close();

    const b = new Spool({
      dir,
      sinks: ['one', 'two'],
      maxBytes: 1 << 20,
      segmentBytes: 200,
      log: (l) => log.push(l),
    });
    expect([b.backlog('one'), b.backlog('two')]).toEqual([13, 20]);
    const ids: string[] = [];
    for (let at = b.cursor('one'); ; ) {
      const r = await b.read(at, 5);
      if (r.lines.length === 0) break;
      ids.push(...r.lines.map((l) => JSON.parse(l).id));
      at = r.next;
    }
    expect(ids).toEqual(Array.from({ length: 13 }, (_, i) => `e${i + 7}`));
    expect(log).toEqual([]);
    b.close();
  });

  it('deletes a segment once every sink is past it, and cuts off a line a crash left half-written', async () => {
    const dir = tempDir();
    const s = new Spool({ dir, sinks: ['one'], maxBytes: 1 << 20, segmentBytes: 100, log: () => {} });
    for (let i = 0; i < 30; i++) s.append(event(i));
    const segments = () => readdirSync(join(dir, 'spool')).length;
    const before = segments();
    expect(before).toBeGreaterThan(3);
    s.commit('one', 25);
    expect(segments()).toBeLessThan(before);
    expect(s.backlog('one')).toBe(5);
    s.close();
    const last = readdirSync(join(dir, 'spool')).sort().at(-1)!;
    appendFileSync(join(dir, 'spool', last), '{"id":"torn');
    const again = new Spool({ dir, sinks: ['one'], maxBytes: 1 << 20, segmentBytes: 100, log: () => {} });
    expect(again.backlog('one')).toBe(5);
    again.append(event(30));
    const r = await again.read(again.cursor('one'), 100);
    expect(r.lines.map((l) => JSON.parse(l).id)).toEqual(['e25', 'e26', 'e27', 'e28', 'e29', 'e30']);
    again.close();
  });

  it('over its size limit drops the oldest events a sink has not delivered, says so and counts them', async () => {
    const dir = tempDir();
    const log: string[] = [];
    const s = new Spool({
      dir,
      sinks: ['slow', 'fast'],
      maxBytes: 64 * 1024,
      segmentBytes: 8 * 1024,
      log: (l) => log.push(l),
    });
    for (let i = 0; i < 400; i++) {
      s.append(event(i, 400));
      s.commit('fast', s.cursor('fast') + 1);
    }
    const dropped = s.figures.dropped.get('slow') ?? 0;
    expect(dropped).toBeGreaterThan(0);
    expect(s.figures.dropped.get('fast') ?? 0).toBe(0);
    expect(log.some((l) => /SPOOL FULL .* not yet delivered to sink slow/.test(l))).toBe(true);
    // What is left for the slow sink is the newest events, in order, up to the last one.
    expect(s.backlog('slow')).toBe(400 - dropped);
    const r = await s.read(s.cursor('slow'), 1000);
    expect(JSON.parse(r.lines[0]!).id).toBe(`e${dropped}`);
    expect(JSON.parse(r.lines.at(-1)!).id).toBe('e399');
    s.close();
  });

  const noRoot = missing('root');
  it.skipIf(noRoot)(
    'on a full disk drops new events loudly and keeps every event spooled before',
    async () => {
      const dir = tempDir();
      const unmount = mountTmpfs(dir, '256k');
      try {
        const log: string[] = [];
        const s = new Spool({
          dir,
          sinks: ['one'],
          maxBytes: 1 << 20,
          segmentBytes: 16 * 1024,
          log: (l) => log.push(l),
        });
        for (let i = 0; i < 50; i++) s.append(event(i, 100));
        fillDisk(join(dir, 'filler'));
        for (let i = 50; i < 200; i++) s.append(event(i, 100));
        expect(s.figures.unwritable).toBeGreaterThan(0);
        expect(log.filter((l) => l.includes('CANNOT SPOOL'))).toHaveLength(1);
        const before = await s.read(s.cursor('one'), 1000);
        const ids = before.lines.map((l) => JSON.parse(l).id as string);
        // Everything spooled before the disk filled is there, whole and in order; nothing is torn.
        expect(ids.slice(0, 50)).toEqual(Array.from({ length: 50 }, (_, i) => `e${i}`));
        expect(ids.length + s.figures.unwritable).toBe(200);
        rmSync(join(dir, 'filler'));
        s.append(event(200, 100));
        expect(log.at(-1)).toMatch(/spooling works again; \d+ event\(s\) were dropped meanwhile/);
        s.close();
        // A restart on the same disk reads back exactly what was spooled.
        const again = new Spool({
          dir,
          sinks: ['one'],
          maxBytes: 1 << 20,
          segmentBytes: 16 * 1024,
          log: () => {},
        });
        const after = await again.read(again.cursor('one'), 1000);
        expect(after.lines.map((l) => JSON.parse(l).id)).toEqual([...ids, 'e200']);
        again.close();
      } finally {
        unmount();
      }
    },
  );
});
