// What `auditctl -s` says about the kernel's audit state, and whether the auditd it names is alive.
// Read by the shim at start and by the end-to-end tests' prerequisite check.
import { readFileSync } from 'node:fs';

/** Below this the kernel's record queue overflows in an exec burst (its own default is 64). */
export const MIN_BACKLOG = 1024;

export function backlogLimit(status: string): number | null {
  const m = /^backlog_limit (\d+)/m.exec(status);
  return m ? Number(m[1]) : null;
}

export function lostCount(status: string): number | null {
  const m = /^lost (\d+)/m.exec(status);
  return m ? Number(m[1]) : null;
}

/**
 * Whether the auditd the kernel names is a live process. The kernel keeps a killed auditd's pid
 * until it next fails to deliver a record, and meanwhile records go to the kernel log, not to
 * audit.log: the shim would tail a file that never grows. `stat` reads /proc/PID/stat (host pid
 * namespace: the DaemonSet runs with hostPID).
 */
export function auditdState(
  status: string,
  stat: (pid: number) => string | null,
): 'running' | 'stopped' | 'dead' {
  const pid = Number(/^pid (\d+)$/m.exec(status)?.[1] ?? 0);
  if (pid === 0) return 'stopped';
  const line = stat(pid);
  const m = line ? /^\d+ \((.*)\) (\S)/s.exec(line) : null;
  return m && m[1] === 'auditd' && m[2] !== 'Z' && m[2] !== 'X' ? 'running' : 'dead';
}

export function readStat(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
}
