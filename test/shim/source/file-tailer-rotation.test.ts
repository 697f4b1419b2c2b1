// The tailer against auditd rotations landing between any two of its file-system calls (FakeLogDir
// runs "auditd" before each call), so every interleaving is reproduced exactly, not by timing:
// a rotation mid-listing, between a stat and an open, while the consumer holds a batch, and
// num_logs rotations while the reader is behind (auditd deletes files it never opened).
// What must hold: every line auditd wrote is yielded once, in order, except lines of files auditd
// deleted before the tailer could hold them open; and the batch after any such lines says so.
// With fewer rotations than num_logs nothing is deleted, so nothing may be lost or flagged.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FileTailer, type LineBatch } from '../../../shim/source/file-tailer.ts';
import { FakeLogDir } from './fake-log-dir.ts';

type Action = 'line' | 'rotate';

interface Outcome {
  lines: string[];
  /** indexes into `lines` of lines whose batch said lines before it may be missing */
  flagged: number[];
  /** every line auditd wrote, in order, with the file (FakeLogDir id) it went to */
  written: { line: string; file: number }[];
  fs: FakeLogDir;
}

/** Runs the tailer while `schedule[k]` happens just before its (k+1)-th file-system call (the first
 *  opens the file holding l0: what auditd rotated away before the tailer started is not its to
 *  read); then writes END and reads until it. */
async function tailThrough(schedule: Action[][]): Promise<Outcome> {
  const fs = new FakeLogDir();
  const written: Outcome['written'] = [];
  let n = 0;
  const write = (line: string) => written.push({ line, file: fs.append(`${line}\n`) });
  write('l0');
  let calls = 0;
  fs.onCall = () => {
    calls++;
    for (const act of (calls > 1 && schedule[calls - 2]) || []) {
      if (act === 'line') write(`l${++n}`);
      else fs.rotate();
    }
    if (calls === schedule.length + 1) write('END');
  };
  const tailer = new FileTailer({ path: fs.path, fs, pollMs: 1, settleMs: 0, busyMs: 0 });
  const out: Outcome = { lines: [], flagged: [], written, fs };
  for await (const batch of tailer.batches() as AsyncGenerator<LineBatch>) {
    if (batch.missingBefore !== undefined) out.flagged.push(out.lines.length);
    out.lines.push(...batch.lines);
    if (batch.lines.includes('END')) break;
  }
  tailer.close();
  return out;
}

/** Checks the contract; returns the lines lost (all of them reported). */
function check(o: Outcome): string[] {
  const got = new Map(o.lines.map((l, i) => [l, i]));
  expect(new Set(o.lines).size, 'a line yielded twice').toBe(o.lines.length);
  expect(o.lines, 'yielded in the order written').toEqual(
    o.written.map((w) => w.line).filter((l) => got.has(l)),
  );
  const lost: string[] = [];
  for (const [i, w] of o.written.entries()) {
    if (got.has(w.line)) continue;
    lost.push(w.line);
    // Only a file auditd deleted can lose lines: the live one is readable to its end.
    expect(o.fs.idOf(o.fs.path) === w.file, `${w.line} lost from audit.log`).toBe(false);
    // The next line that did arrive is flagged.
    const after = o.written.slice(i + 1).find((x) => got.has(x.line));
    expect(after && o.flagged.includes(got.get(after.line)!), `loss before ${after?.line} not reported`).toBe(
      true,
    );
  }
  expect(o.fs.openHandles(), 'handles left open').toBe(0);
  return lost;
}

describe('FileTailer across rotations (simulated auditd)', () => {
  it('a rotation between two calls of a directory listing skips no file', async () => {
    // l1 in the first file; a rotation; l2 in the second; then while the tailer lists the
    // directory (readdir, then opens oldest first), another rotation lands between its opens.
    for (let at = 0; at < 40; at++) {
      const schedule: Action[][] = [['line'], ['rotate'], ['line']];
      schedule[at + 3] = [...(schedule[at + 3] ?? []), 'rotate', 'line'];
      const o = await tailThrough(Array.from(schedule, (a) => a ?? []));
      expect(check(o), `rotation at call ${at + 3}`).toEqual([]);
      expect(o.lines).toEqual(['l0', 'l1', 'l2', 'l3', 'END']);
    }
  });

  it('a reader num_logs rotations behind reports the deleted file and reads on', async () => {
    // Six rotations, each file with one line, before the tailer's second call: the files of l1..l2
    // are gone (numLogs 5 keeps audit.log and four rotated files).
    const burst: Action[] = [];
    for (let i = 0; i < 6; i++) burst.push('line', 'rotate');
    const o = await tailThrough([[], burst]);
    const lost = check(o);
    expect(lost.length).toBeGreaterThan(0);
    expect(o.flagged.length).toBeGreaterThan(0);
  });

  it('four rotations behind, nothing is deleted unread and nothing is flagged', async () => {
    const burst: Action[] = [];
    for (let i = 0; i < 4; i++) burst.push('line', 'rotate');
    const o = await tailThrough([[], burst]);
    expect(check(o)).toEqual([]);
    expect(o.flagged).toEqual([]);
  });

  it('any schedule of lines and rotations: every line once and in order, or its loss reported', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.constantFrom<Action>('line', 'line', 'rotate'), { maxLength: 3 }), {
          maxLength: 120,
        }),
        async (schedule) => {
          const o = await tailThrough(schedule);
          const lost = check(o);
          // Fewer rotations than num_logs delete nothing: then nothing may be lost or flagged.
          if (schedule.flat().filter((a) => a === 'rotate').length < o.fs.numLogs) {
            expect(lost).toEqual([]);
            expect(o.flagged).toEqual([]);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
