// The process table's offline bound (ProcessTable.sweep without /proc): above maxEntries it drops
// processes, and a dropped process may still be named by a later event. Those in a session go last,
// and one that is dropped is remembered, so its later children keep its session, marked inferred
// (`dropped-from-table`): never a silent miss.
import { describe, expect, it } from 'vitest';
import type { AttributedExec } from '../../common/wire.ts';
import type { AttributedOutput } from '../../shim/attribution.ts';
import { Pipeline } from '../../shim/pipeline.ts';
import { execLines, forkLines } from './audit-lines.ts';

const A = '3f1b2c4d-5e6f-4a1b-8c2d-9e0f1a2b3c4d';
const B = '7a8b9c0d-1e2f-4a3b-9c4d-5e6f7a8b9c0d';
const T0 = 1_795_000_000_000;
const MINUTE = 60_000;

/** A log through a pipeline whose table holds at most 20 processes, calls one idle after a minute
 *  and remembers `maxDropped` dropped processes in sessions. */
function bounded(lines: string[], maxDropped = 1000) {
  const out: AttributedOutput[] = [];
  const p = new Pipeline({
    emit: (o) => out.push(o),
    proc: null,
    sweepEvery: 5,
    table: { maxEntries: 20, idleMs: MINUTE, maxDropped },
  });
  for (const l of lines) p.line(l);
  p.flush();
  const execs = out.filter((o) => o.kind === 'exec').map((o) => o.exec!) as AttributedExec[];
  return { execs, last: (argv0: string) => execs.findLast((e) => e.argv[0] === argv0), stats: p.stats };
}

/** A session shell (parent 10) from its marker exec. */
function sessionShell(serial: number, pid = 200, session = A): string[] {
  return [
    ...execLines({ serial, t: T0, pid, ppid: 10, argv: ['env', `AUDITED_EXEC_SESSION=${session}`, 'bash'] }),
    ...execLines({ serial: serial + 1, t: T0 + 1, pid, ppid: 10, argv: ['bash'] }),
  ];
}

/** `n` processes forked and exec'd by `parent`, one a second from `t`. */
function children(o: {
  parent: number;
  ppid: number;
  firstPid: number;
  n: number;
  t: number;
  serial: number;
}) {
  const lines: string[] = [];
  for (let i = 0; i < o.n; i++) {
    const t = o.t + i * 1000;
    const pid = o.firstPid + i;
    lines.push(...forkLines({ serial: o.serial + 2 * i, t, pid: o.parent, ppid: o.ppid, child: pid }));
    lines.push(...execLines({ serial: o.serial + 2 * i + 1, t: t + 1, pid, ppid: o.parent, argv: ['date'] }));
  }
  return lines;
}

/** The shell (200) runs `id` at `t`. */
function laterCommand(t: number, serial: number): string[] {
  return [
    ...forkLines({ serial, t, pid: 200, ppid: 10, child: 9000 }),
    ...execLines({ serial: serial + 1, t: t + 1, pid: 9000, ppid: 200, argv: ['id'] }),
  ];
}

/** Session A's shell (200) runs 5 commands and idles; session B's shell (300) runs 100, more than
 *  the table holds, so A's shell and its children, the oldest, are dropped in the end. */
function crowdedOut(): string[] {
  return [
    ...sessionShell(1),
    ...children({ parent: 200, ppid: 10, firstPid: 5000, n: 5, t: T0 + 1000, serial: 10 }),
    ...sessionShell(100, 300, B),
    ...children({ parent: 300, ppid: 10, firstPid: 6000, n: 100, t: T0 + 10_000, serial: 200 }),
  ];
}

describe('the offline table bound', () => {
  it('drops idle processes in no session before an idle session shell', () => {
    // 200 host processes (no session) fill the table; the shell is idle for five minutes.
    const r = bounded([
      ...sessionShell(1),
      ...children({ parent: 10, ppid: 1, firstPid: 5000, n: 200, t: T0 + 1000, serial: 10 }),
      ...laterCommand(T0 + 5 * MINUTE, 1000),
    ]);
    expect(r.stats.processes).toBeLessThanOrEqual(25);
    expect(r.last('id')).toMatchObject({ session: A, attribution: 'ancestry' });
    expect(r.last('id')).not.toHaveProperty('reason');
  });

  it('a shell dropped from a full table keeps its session for later children, marked inferred', () => {
    const r = bounded([...crowdedOut(), ...laterCommand(T0 + 5 * MINUTE, 1000)]);
    expect(r.stats.processes).toBeLessThanOrEqual(25);
    expect(r.last('date')).toMatchObject({ session: B, attribution: 'ancestry' });
    expect(r.last('id')).toMatchObject({ session: A, attribution: 'inferred', reason: 'dropped-from-table' });
    expect(r.stats.forgottenSessionProcesses).toBe(0);
  });

  it('past what it remembers, the shell is forgotten, and the run counts it (no silent loss)', () => {
    const r = bounded([...crowdedOut(), ...laterCommand(T0 + 5 * MINUTE, 1000)], 10);
    expect(r.last('id')).toMatchObject({ session: null });
    expect(r.stats.forgottenSessionProcesses).toBeGreaterThan(0);
  });

  it('a pid made anew after its process was dropped is a new process, not the session', () => {
    const r = bounded([
      ...crowdedOut(),
      // pid 200 comes round: another parent (not an adopter) forks it and it execs.
      ...forkLines({ serial: 900, t: T0 + 4 * MINUTE, pid: 77, ppid: 1, child: 200, comm: 'cron' }),
      ...execLines({ serial: 901, t: T0 + 4 * MINUTE + 1, pid: 200, ppid: 77, argv: ['bash'] }),
      ...laterCommand(T0 + 5 * MINUTE, 1000).map((l) => l.replace('ppid=10 pid=200', 'ppid=77 pid=200')),
    ]);
    expect(r.last('id')).toMatchObject({ session: null, attribution: null });
  });
});
