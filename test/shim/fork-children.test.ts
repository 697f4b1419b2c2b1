// A fork inside a container reports the child's pid in the container's pid namespace (exit=36),
// not the host pid every other field uses. These scenarios are the ones a subshell `( … ) &` or
// `$(…)` in a `runc exec`'d bash produces (pids as this VM's runc showed them).
import { describe, expect, it } from 'vitest';
import type { AttributedExec } from '../../common/wire.ts';
import { Pipeline } from '../../shim/pipeline.ts';
import { parseNsPids } from '../../shim/procfs.ts';
import { execLines, forkLines } from './audit-lines.ts';
import { FakeProc } from './fake-proc.ts';

const A = '3f1b2c4d-5e6f-4a1b-8c2d-9e0f1a2b3c4d';
const CID = 'c'.repeat(64);
const T0 = 1_795_000_000_000;

/** Feeds the stages in order; `between[i]` changes /proc after stage i (processes come and go). */
function attribute(proc: FakeProc | null, stages: string[][], between: (() => void)[] = []) {
  const out: AttributedExec[] = [];
  const p = new Pipeline({ emit: (o) => o.exec && out.push(o.exec), proc });
  stages.forEach((lines, i) => {
    for (const l of lines) p.line(l);
    p.flush();
    between[i]?.();
  });
  return (argv: string) => out.find((e) => e.argv.join(' ') === argv);
}

/** runc (910) exec'd env → bash (host 911, pid 1 of nothing: pid 7 in the container). */
function session(proc: FakeProc | null): string[] {
  proc?.add(900, 1, 'containerd-shim');
  proc?.add(910, 900, 'runc');
  proc?.add(950, 900, 'sleep', { container: CID, nsPid: 1 });
  proc?.add(911, 910, 'bash', { container: CID, nsPid: 7 });
  return [
    ...execLines({
      serial: 1,
      t: T0,
      pid: 911,
      ppid: 910,
      argv: ['env', `AUDITED_EXEC_SESSION=${A}`, 'bash'],
    }),
    ...execLines({ serial: 2, t: T0 + 1, pid: 911, ppid: 910, argv: ['bash'] }),
  ];
}

describe('forks inside a container', () => {
  it("a gone subshell's children stay in the session, and exit= never names a host process", () => {
    const proc = new FakeProc();
    // Host pid 36 is an unrelated host daemon; in the container the subshell was pid 36.
    proc.add(36, 1, 'cron');
    const at = attribute(proc, [
      [
        ...session(proc),
        ...forkLines({ serial: 3, t: T0 + 2, pid: 911, ppid: 910, child: 36 }),
        // the subshell (host 1036, already exited) forks and its child execs
        ...forkLines({ serial: 4, t: T0 + 3, pid: 1036, ppid: 911, child: 37 }),
        ...execLines({ serial: 5, t: T0 + 4, pid: 1037, ppid: 1036, argv: ['/bin/true', 'sub1'] }),
        ...execLines({ serial: 6, t: T0 + 5, pid: 40, ppid: 36, argv: ['cron-job'] }),
      ],
    ]);
    expect(at('/bin/true sub1')).toMatchObject({ session: A, attribution: 'ancestry' });
    expect(at('cron-job')).toMatchObject({ session: null });
  });

  it('maps a live child to its host pid through NSpid, so it keeps its session after re-parenting', () => {
    const proc = new FakeProc();
    const lines = session(proc);
    proc.add(1008, 911, 'bash', { container: CID, nsPid: 8 });
    const at = attribute(
      proc,
      [
        [...lines, ...forkLines({ serial: 3, t: T0 + 2, pid: 911, ppid: 910, child: 8 })],
        // bash exited; the nohup'd child (host 1008) now names the container's init as its parent
        [...execLines({ serial: 4, t: T0 + 900, pid: 1008, ppid: 950, argv: ['touch', '/tmp/x'] })],
      ],
      [
        () => {
          proc.remove(911);
          proc.add(1008, 950, 'bash', { container: CID, nsPid: 8 });
        },
      ],
    );
    expect(at('touch /tmp/x')).toMatchObject({ session: A, attribution: 'ancestry' });
  });

  it('resolves a pending fork when a re-parented child shows up with its NSpid', () => {
    const proc = new FakeProc();
    const at = attribute(
      proc,
      [
        [...session(proc)],
        // the fork is read after bash and its child are both out of /proc's reach... (see below)
        [...forkLines({ serial: 3, t: T0 + 2, pid: 911, ppid: 910, child: 9 })],
        [...execLines({ serial: 4, t: T0 + 900, pid: 1009, ppid: 950, argv: ['late', 'orphan'] })],
      ],
      [
        () => proc.remove(911),
        // ...and the orphan is visible again only when its own exec is read.
        () => proc.add(1009, 950, 'sh', { container: CID, nsPid: 9 }),
      ],
    );
    expect(at('late orphan')).toMatchObject({ session: A, attribution: 'ancestry' });
  });

  it('trusts exit= for callers in the host pid namespace', () => {
    const proc = new FakeProc();
    proc.add(600, 10, 'bash');
    const at = attribute(proc, [
      [
        ...execLines({
          serial: 1,
          t: T0,
          pid: 600,
          ppid: 10,
          argv: ['env', `AUDITED_EXEC_SESSION=${A}`, 'bash'],
        }),
        ...forkLines({ serial: 2, t: T0 + 1, pid: 600, ppid: 10, child: 601 }),
        // 601 re-parented to pid 1 before its first exec: only the fork event links it
        ...execLines({ serial: 3, t: T0 + 2, pid: 601, ppid: 1, argv: ['ls'] }),
      ],
    ]);
    expect(at('ls')).toMatchObject({ session: A, attribution: 'ancestry' });
  });

  it('offline (no /proc), a fork below a runtime is not filed under exit=', () => {
    const at = attribute(null, [
      [
        ...execLines({ serial: 0, t: T0 - 1, pid: 910, ppid: 900, argv: ['runc', 'exec', 'x', 'env'] }),
        ...session(null),
        ...forkLines({ serial: 3, t: T0 + 2, pid: 911, ppid: 910, child: 36 }),
        ...execLines({ serial: 4, t: T0 + 3, pid: 1036, ppid: 911, argv: ['/bin/echo', 'hi'] }),
        ...execLines({ serial: 5, t: T0 + 4, pid: 40, ppid: 36, argv: ['cron-job'] }),
      ],
    ]);
    expect(at('/bin/echo hi')).toMatchObject({ session: A });
    expect(at('cron-job')).toMatchObject({ session: null });
  });
});

describe('parseNsPids', () => {
  it('reads the NSpid line of /proc/PID/status', () => {
    expect(parseNsPids('Name:\tbash\nNgid:\t0\nNSpid:\t4242\t36\nNSpgid:\t1\n')).toEqual([4242, 36]);
    expect(parseNsPids('Name:\tbash\nNSpid:\t4242\n')).toEqual([4242]);
    expect(parseNsPids('Name:\tbash\n')).toBeNull();
  });
});
