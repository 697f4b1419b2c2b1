// A /proc stand-in for attribution tests.
import type { ProcSource, ProcStat } from '../../shim/procfs.ts';

/** A /proc stand-in: the processes alive "now" with their cgroup, environment and NSpid (a
 *  container process's own-namespace pid defaults to its host pid modulo 1000). */
export class FakeProc implements ProcSource {
  procs = new Map<number, { stat: ProcStat; cgroup?: string; environ?: string[]; ns: number[] }>();
  add(
    pid: number,
    ppid: number,
    comm: string,
    extra: { container?: string; environ?: string[]; nsPid?: number } = {},
  ) {
    const cgroup = extra.container
      ? `0::/kubepods.slice/cri-containerd-${extra.container}.scope\n`
      : '0::/system.slice/x\n';
    const ns = extra.container ? [pid, extra.nsPid ?? pid % 1000] : [pid];
    this.procs.set(pid, { stat: { pid, ppid, comm, startTime: 1 }, cgroup, environ: extra.environ, ns });
  }
  /** the process exited */
  remove(pid: number) {
    this.procs.delete(pid);
  }
  stat = (pid: number) => this.procs.get(pid)?.stat ?? null;
  cgroup = (pid: number) => this.procs.get(pid)?.cgroup ?? null;
  environ = (pid: number) => this.procs.get(pid)?.environ ?? null;
  nsPids = (pid: number) => this.procs.get(pid)?.ns ?? null;
}
