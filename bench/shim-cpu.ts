// Shim CPU against auditd's own while a container runs an exec storm: the project's audit rules
// loaded under a key of this run, the real shim daemon shipping to a recorder with shim ingestion,
// and a recorded session whose bash execs /bin/true at a paced rate. CPU is utime+stime from
// /proc/PID/stat over the same window for both; losses are checked against the kernel's lost
// counter and by counting the session's stored execs against what the storm says it ran.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { lostCount } from '../shim/audit-status.ts';
import { missing } from '../test/support/prereq.ts';
import { openRecorded } from './channel-client.ts';
import type { BenchResult } from './result.ts';
import type { SandboxProcess } from './sandbox-process.ts';
import { startShimStage } from './shim-stage.ts';
import { cpuTicks, round, TICKS_PER_SECOND } from './stats.ts';

/** Parallel bash loops that exec /bin/true at `rate` per second in total, paced on EPOCHREALTIME; the wait
 *  is `read -t` on the session's idle stdin, a builtin, so pacing itself execs nothing. */
export function stormScript(o: { rate: number; seconds: number; loops: number }): string {
  const per = Math.round(o.rate / o.loops);
  const loop = `n=0; start=\${EPOCHREALTIME/./}; end=$((start + ${o.seconds} * 1000000)); while :; do now=\${EPOCHREALTIME/./}; [ $now -ge $end ] && break; if [ $n -lt $(( (now - start) * ${per} / 1000000 )) ]; then /bin/true; n=$((n+1)); else read -t 0.002 _; fi; done; echo execs=$n`;
  // Each loop is its own exec'd bash so the storm's shape matches earlier runs' figures (subshells
  // inside a container are attributed too since the shim maps namespace pids; test/e2e/shim.test.ts).
  return `for j in {1..${o.loops}}; do bash -c '${loop}' & done; wait`;
}

/** utime and stime of a process in clock ticks: where the shim's CPU goes (its code or the kernel's). */
function userSystemTicks(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]), system: Number(fields[12]) };
}

const auditdPid = (): number =>
  Number(execFileSync('pidof', ['auditd'], { encoding: 'utf8' }).trim().split(' ')[0]);
const kernelLost = (): number | null => lostCount(execFileSync('auditctl', ['-s'], { encoding: 'utf8' }));

export async function shimCpuBench(o: {
  sandbox: SandboxProcess;
  seconds: number;
  rate: number;
  /** parallel loops: one bash cannot fork+exec 2,000/s */
  loops: number;
  log: (l: string) => void;
}): Promise<BenchResult> {
  const name = 'shim CPU vs auditd';
  const why = missing('root', 'auditd');
  if (why) return { name, method: '', notMeasured: why };
  const sb = o.sandbox;
  const { rec, shim, child, stateDir, stop } = await startShimStage(sb, 'shim');
  try {
    await child.waitFor(/"msg":"tailing"/, 60_000);
    await child.waitFor(/"msg":"connected to recorder"/, 60_000);
    const shimPid = Number(
      execFileSync('pgrep', ['-n', '-f', `state-dir=${stateDir}`], { encoding: 'utf8' }).trim(),
    );
    const aPid = auditdPid();
    const loops = o.loops;
    const lost0 = kernelLost();
    const cpu0 = { shim: cpuTicks(shimPid), auditd: cpuTicks(aPid), split: userSystemTicks(shimPid) };
    const t0 = Date.now();
    const s = await openRecorded(
      { url: rec.url, caPem: rec.caPem, token: sb.tokens.alice! },
      {
        command: ['bash', '-c', stormScript({ rate: o.rate, seconds: o.seconds, loops })],
        tty: false,
        stdin: true,
      },
    );
    let out = '';
    s.onOutput((c) => {
      out += c.toString();
    });
    await s.closed;
    const stormSeconds = (Date.now() - t0) / 1000;
    const ran = [...out.matchAll(/execs=(\d+)/g)].reduce((a, m) => a + Number(m[1]), 0);
    if (ran === 0) throw new Error(`the exec storm did not run; its output: ${out.slice(0, 500)}`);
    o.log(
      `shim-cpu: storm ran ${ran} execs in ${round(stormSeconds, 1)} s; waiting for the shim to ship them`,
    );
    // Drained: the stored /bin/true execs stop growing (or reach the count) for 6 s.
    const stored = async () =>
      (await shim.events.listEvents(s.sessionId!)).filter((e) => e.exec?.argv[0] === '/bin/true');
    let last = -1;
    let stableSince = Date.now();
    const deadline = Date.now() + 120_000;
    let events = await stored();
    while (Date.now() < deadline) {
      events = await stored();
      if (events.length >= ran) break;
      if (events.length !== last) {
        last = events.length;
        stableSince = Date.now();
      } else if (Date.now() - stableSince > 6000) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const windowSeconds = (Date.now() - t0) / 1000;
    const cpu1 = { shim: cpuTicks(shimPid), auditd: cpuTicks(aPid), split: userSystemTicks(shimPid) };
    const lost1 = kernelLost();
    const shimCpu = (cpu1.shim - cpu0.shim) / TICKS_PER_SECOND;
    const auditdCpu = (cpu1.auditd - cpu0.auditd) / TICKS_PER_SECOND;
    const serials = events.map((e) => `${e.bootId}:${e.auditSerial}`);
    const twice = serials.length - new Set(serials).size;
    const kernelLostDelta = lost0 === null || lost1 === null ? Number.NaN : lost1 - lost0;
    return {
      name,
      method: `${loops} paced bash loops in a recorded session in pod default/web exec /bin/true at ${o.rate}/s total for ${o.seconds} s; project rules loaded under key bench-shim-${process.pid}; real shim daemon (node shim/main.ts run) shipping to a recorder with shim ingestion; CPU = utime+stime delta over storm + drain (${round(windowSeconds, 1)} s) for the shim and auditd; stored /bin/true execs counted against the loops' own count`,
      figures: {
        'execs run': ran,
        'achieved execs/s': Math.round(ran / stormSeconds),
        'shim CPU s': round(shimCpu),
        'shim user/system s': `${round((cpu1.split.user - cpu0.split.user) / TICKS_PER_SECOND)} / ${round((cpu1.split.system - cpu0.split.system) / TICKS_PER_SECOND)}`,
        'auditd CPU s': round(auditdCpu),
        'shim / auditd': round(shimCpu / auditdCpu),
        'execs stored': events.length,
        'stored twice': twice,
        'kernel lost delta': Number.isNaN(kernelLostDelta) ? 'unknown' : kernelLostDelta,
      },
      targets: [
        { what: 'shim CPU <= 0.5x auditd', met: shimCpu <= 0.5 * auditdCpu },
        {
          what: 'no event lost (stored == run, kernel lost +0)',
          met: events.length === ran && kernelLostDelta === 0,
        },
        { what: 'none stored twice', met: twice === 0 },
      ],
    };
  } finally {
    await stop();
  }
}
