// Re-parenting inside a container: an orphan goes to the container's pid-1 process (whatever the
// image runs), which is no ancestor of a `runc exec`'d shell. Captured on this VM: a nohup'd child
// whose shell exited before it exec'd `sh` showed ppid = the container's `sleep infinity`.
import { describe, expect, it } from 'vitest';
import type { AttributedExec } from '../../common/wire.ts';
import { Pipeline } from '../../shim/pipeline.ts';
import type { ProcSource, ProcStat } from '../../shim/procfs.ts';
import { execLines, forkLines } from './audit-lines.ts';

const A = '3f1b2c4d-5e6f-4a1b-8c2d-9e0f1a2b3c4d';
const CID = 'c'.repeat(64);
const OTHER = 'd'.repeat(64);
const T0 = 1_795_000_000_000;

class FakeProc implements ProcSource {
  add(pid: number, ppid: number, comm: string, container?: string, nsPid?: number) {
    const cgroup = container
      ? `0::/kubepods.slice/cri-containerd-${container}.scope\n`
      : '0::/system.slice/x\n';
    const ns = nsPid === undefined ? [pid] : [pid, nsPid];
    this.procs.set(pid, { stat: { pid, ppid, comm, startTime: 1 }, cgroup, ns });
  }
  procs = new Map<number, { stat: ProcStat; cgroup: string; ns: number[] }>();
  stat = (pid: number) => this.procs.get(pid)?.stat ?? null;
  cgroup = (pid: number) => this.procs.get(pid)?.cgroup ?? null;
  environ = () => null;
  nsPids = (pid: number) => this.procs.get(pid)?.ns ?? null;
  children = () => null;
}

function attribute(newParent: number, proc: FakeProc): AttributedExec[] {
  const out: AttributedExec[] = [];
  const p = new Pipeline({ emit: (o) => o.exec && out.push(o.exec), proc });
  const lines = [
    ...execLines({
      serial: 1,
      t: T0,
      pid: 911,
      ppid: 910,
      argv: ['env', `AUDITED_EXEC_SESSION=${A}`, 'bash'],
    }),
    ...execLines({ serial: 2, t: T0 + 1, pid: 911, ppid: 910, argv: ['bash'] }),
    ...forkLines({ serial: 3, t: T0 + 2, pid: 911, ppid: 910, child: 920, comm: 'bash' }),
    ...execLines({
      serial: 4,
      t: T0 + 3,
      pid: 920,
      ppid: 911,
      argv: ['nohup', 'sh', '-c', 'sleep 2; touch /tmp/x'],
    }),
    // bash exited; the orphan now names its new parent
    ...execLines({
      serial: 5,
      t: T0 + 4,
      pid: 920,
      ppid: newParent,
      argv: ['sh', '-c', 'sleep 2; touch /tmp/x'],
    }),
    ...execLines({ serial: 6, t: T0 + 2004, pid: 920, ppid: newParent, argv: ['touch', '/tmp/x'] }),
  ];
  for (const l of lines) p.line(l);
  p.flush();
  return out;
}

describe('re-parenting', () => {
  it("keeps the session when an orphan moves to its container's init", () => {
    const proc = new FakeProc();
    proc.add(800, 790, 'sleep', CID, 1); // the container's pid 1
    proc.add(910, 1, 'runc');
    proc.add(911, 910, 'bash', CID);
    proc.add(920, 800, 'touch', CID);
    const touch = attribute(800, proc).find((e) => e.argv[0] === 'touch');
    expect(touch).toMatchObject({ session: A, attribution: 'ancestry' });
  });

  it('treats a "parent" in another container as a new process that reused the pid', () => {
    const proc = new FakeProc();
    proc.add(801, 790, 'sleep', OTHER);
    proc.add(910, 1, 'runc');
    proc.add(911, 910, 'bash', CID);
    proc.add(920, 801, 'touch', CID);
    const touch = attribute(801, proc).find((e) => e.argv[0] === 'touch');
    expect(touch?.session).toBeNull();
  });
});

describe('a pid that came round to a runtime exec', () => {
  it('is the runtime’s new child, even when its fork is logged after its exec', () => {
    // Offline, fork rules: pid 920 was an unrelated host process; then `runc exec` (700) starts
    // the recorder's marked command, which gets pid 920 again, and the clone that made it is
    // written to the log after the command's own execve (it ran before its parent returned).
    const CONTAINER = 'e'.repeat(64);
    const out: AttributedExec[] = [];
    const alerts: string[] = [];
    const p = new Pipeline({
      emit: (o) => {
        if (o.exec) out.push(o.exec);
        if (o.alert) alerts.push(o.alert.alert);
      },
      proc: null,
    });
    const lines = [
      ...forkLines({ serial: 1, t: T0, pid: 50, ppid: 1, child: 920, comm: 'cron' }),
      ...execLines({ serial: 2, t: T0 + 1, pid: 920, ppid: 50, argv: ['logrotate'] }),
      ...execLines({ serial: 3, t: T0 + 5000, pid: 700, ppid: 600, argv: ['runc', 'exec', CONTAINER, 'sh'] }),
      ...execLines({ serial: 4, t: T0 + 5001, pid: 920, ppid: 700, argv: ['runc', 'init'] }),
      ...execLines({
        serial: 5,
        t: T0 + 5002,
        pid: 920,
        ppid: 700,
        argv: ['env', `AUDITED_EXEC_SESSION=${A}`, 'sh'],
      }),
      ...forkLines({ serial: 6, t: T0 + 5003, pid: 700, ppid: 600, child: 920, comm: 'runc' }),
      ...execLines({ serial: 7, t: T0 + 5004, pid: 921, ppid: 920, argv: ['id'] }),
    ];
    for (const l of lines) p.line(l);
    p.flush();
    expect(out.find((e) => e.argv[0] === 'env')).toMatchObject({ session: A, attribution: 'marker' });
    expect(out.find((e) => e.argv[0] === 'id')).toMatchObject({ session: A, attribution: 'ancestry' });
    expect(alerts).toEqual([]);
  });
});
