// The live-process lookups the process table and attribution need, behind a small interface so the
// core runs offline (no /proc) and in tests (a map). The real implementation reads /proc; every
// call may race with the process exiting, which is an ordinary null, not an error.

import { readdirSync, readFileSync } from 'node:fs';

export interface ProcStat {
  pid: number;
  ppid: number;
  comm: string;
  /** clock ticks since boot (field 22): with the pid, identifies one process */
  startTime: number;
}

export interface ProcSource {
  stat(pid: number): ProcStat | null;
  /** the raw text of /proc/PID/cgroup */
  cgroup(pid: number): string | null;
  /** the environment as NAME=VALUE strings */
  environ(pid: number): string[] | null;
  /** the NSpid line of /proc/PID/status: the pid in each pid namespace, host first, own last */
  nsPids(pid: number): number[] | null;
  /** every live process id: one listing of /proc, far cheaper than a look per entry for sweeps
   *  over thousands of mostly dead entries (absent: stat() alone decides) */
  pids?(): ReadonlySet<number> | null;
}

/** The NSpid line of /proc/PID/status text. */
export function parseNsPids(status: string): number[] | null {
  const at = status.indexOf('\nNSpid:');
  if (at < 0) return null;
  const end = status.indexOf('\n', at + 7);
  const pids = status
    .slice(at + 7, end < 0 ? status.length : end)
    .trim()
    .split(/\s+/)
    .map(Number);
  return pids.length > 0 && pids.every((n) => Number.isInteger(n) && n > 0) ? pids : null;
}

/** Parses /proc/PID/stat. comm may contain spaces and ')' so the fields after it are found from
 *  the last ')'. */
export function parseProcStat(pid: number, text: string): ProcStat | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const rest = text.slice(close + 2).split(' ');
  // rest[0] is state (field 3); ppid is field 4, starttime field 22.
  const ppid = Number(rest[1]);
  const startTime = Number(rest[19]);
  if (!Number.isFinite(ppid)) return null;
  return { pid, ppid, comm: text.slice(open + 1, close), startTime };
}

export class ProcFs implements ProcSource {
  readonly #root: string;

  constructor(options: { root?: string } = {}) {
    this.#root = options.root ?? '/proc';
  }

  stat(pid: number): ProcStat | null {
    const text = this.#read(pid, 'stat');
    return text === null ? null : parseProcStat(pid, text);
  }

  cgroup(pid: number): string | null {
    return this.#read(pid, 'cgroup');
  }

  environ(pid: number): string[] | null {
    const text = this.#read(pid, 'environ');
    return text === null ? null : text.split('\0').filter((s) => s.length > 0);
  }

  nsPids(pid: number): number[] | null {
    const text = this.#read(pid, 'status');
    return text === null ? null : parseNsPids(text);
  }

  pids(): ReadonlySet<number> | null {
    let names: string[];
    try {
      names = readdirSync(this.#root);
    } catch {
      return null;
    }
    const out = new Set<number>();
    for (const name of names) {
      const pid = Number(name);
      if (pid > 0) out.add(pid);
    }
    return out;
  }

  #read(pid: number, file: string): string | null {
    try {
      return readFileSync(`${this.#root}/${pid}/${file}`, 'utf8');
    } catch {
      return null;
    }
  }
}
