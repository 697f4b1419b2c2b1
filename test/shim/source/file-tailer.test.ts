import { appendFileSync, mkdtempSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileTailer } from '../../../shim/source/file-tailer.ts';

/** Reads `n` lines from the tailer, then returns them (the tailer keeps running). */
async function take(it: AsyncIterator<string>, n: number): Promise<string[]> {
  const out: string[] = [];
  while (out.length < n) {
    const r = await it.next();
    if (r.done) break;
    out.push(r.value);
  }
  return out;
}

describe('FileTailer', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('follows appends, partial lines, rotation and truncation', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ae-shim-tail-'));
    dirs.push(dir);
    const log = join(dir, 'audit.log');
    writeFileSync(log, 'l1\nl2\n');
    const tailer = new FileTailer({ path: log, pollMs: 20 });
    const it = tailer.lines()[Symbol.asyncIterator]();
    expect(await take(it, 2)).toEqual(['l1', 'l2']);
    appendFileSync(log, 'l3\nl4-part');
    expect(await take(it, 1)).toEqual(['l3']);
    appendFileSync(log, 'ial\n');
    expect(await take(it, 1)).toEqual(['l4-partial']);
    appendFileSync(log, 'l5\n');
    renameSync(log, `${log}.1`); // auditd rotation
    appendFileSync(`${log}.1`, 'l6-late-in-old\n');
    writeFileSync(log, 'n1\n');
    expect(await take(it, 3)).toEqual(['l5', 'l6-late-in-old', 'n1']);
    // Truncation is seen when the file is shorter than what was read (copytruncate-style rotation).
    truncateSync(log, 0);
    appendFileSync(log, 't\n');
    expect(await take(it, 1)).toEqual(['t']);
    tailer.close();
    expect((await it.next()).done).toBe(true);
  });

  it('reads every file of several rotations that passed while it was busy, in order', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ae-shim-tail-'));
    dirs.push(dir);
    const log = join(dir, 'audit.log');
    writeFileSync(log, 'a1\n');
    const tailer = new FileTailer({ path: log, pollMs: 20 });
    const it = tailer.lines()[Symbol.asyncIterator]();
    expect(await take(it, 1)).toEqual(['a1']);
    // The consumer is busy; meanwhile auditd finishes the file and rotates three times.
    appendFileSync(log, 'a2\n');
    for (const next of ['b', 'c', 'd']) {
      for (let n = 3; n >= 1; n--) {
        try {
          renameSync(`${log}.${n}`, `${log}.${n + 1}`);
        } catch {
          // not there yet
        }
      }
      renameSync(log, `${log}.1`);
      writeFileSync(log, `${next}1\n${next}2\n`);
    }
    expect(await take(it, 7)).toEqual(['a2', 'b1', 'b2', 'c1', 'c2', 'd1', 'd2']);
    appendFileSync(log, 'd3\n');
    expect(await take(it, 1)).toEqual(['d3']);
    tailer.close();
  });

  it('resumes from its checkpoint, reading rotated files it missed, without duplicates', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ae-shim-tail-'));
    dirs.push(dir);
    const log = join(dir, 'audit.log');
    const cp = join(dir, 'checkpoint.json');
    writeFileSync(log, 'a1\na2\n');
    let tailer = new FileTailer({ path: log, checkpointFile: cp, pollMs: 20 });
    let it = tailer.lines()[Symbol.asyncIterator]();
    expect(await take(it, 2)).toEqual(['a1', 'a2']);
    await tailer.saveCheckpoint();
    tailer.close();
    await it.next();
    // while the shim is down: more lines, two rotations
    appendFileSync(log, 'a3\n');
    renameSync(log, `${log}.1`);
    writeFileSync(log, 'b1\n');
    renameSync(`${log}.1`, `${log}.2`);
    renameSync(log, `${log}.1`);
    writeFileSync(log, 'c1\nc2\n');
    tailer = new FileTailer({ path: log, checkpointFile: cp, pollMs: 20 });
    it = tailer.lines()[Symbol.asyncIterator]();
    expect(await take(it, 4)).toEqual(['a3', 'b1', 'c1', 'c2']);
    tailer.close();
  });

  it('without a checkpoint can start at the end (daemon) and see only new lines', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ae-shim-tail-'));
    dirs.push(dir);
    const log = join(dir, 'audit.log');
    writeFileSync(log, 'old\n');
    const tailer = new FileTailer({ path: log, fromStart: false, pollMs: 20 });
    const it = tailer.lines()[Symbol.asyncIterator]();
    const next = take(it, 1);
    setTimeout(() => appendFileSync(log, 'new\n'), 50);
    expect(await next).toEqual(['new']);
    tailer.close();
  });
});
