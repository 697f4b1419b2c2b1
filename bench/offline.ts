// Offline attribution throughput on a large real-format log: attributeLines over the lines in
// memory (the pure core), the `audited-exec-shim attribute` CLI on the file, and auditd's own
// tools on the same file as child processes (ausearch --raw, aureport --summary).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { attributeLines } from '../shim/offline.ts';
import { generateAuditLog } from './audit-log-gen.ts';
import type { BenchResult } from './result.ts';
import { ms, round } from './stats.ts';

const ROOT = resolve(import.meta.dirname, '..');
const FIXTURE = join(ROOT, 'test/fixtures/audit/live-session-scenario.log');

/** Wall time of a child process whose output is discarded; rejects on a non-zero exit. */
function timeChild(file: string, args: string[]): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(file, args, { stdio: ['ignore', 'ignore', 'pipe'], cwd: ROOT });
    let err = '';
    child.stderr!.on('data', (c) => {
      err += c;
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolvePromise(ms(process.hrtime.bigint() - t0))
        : reject(new Error(`${file} exited ${code}: ${err.slice(-400)}`)),
    );
  });
}

export async function offlineBench(o: { records: number; log: (l: string) => void }): Promise<BenchResult> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-offline-'));
  try {
    const file = join(dir, 'audit.log');
    const gen = await generateAuditLog({ fixture: FIXTURE, out: file, minRecords: o.records });
    o.log(`offline: ${gen.records} records, ${round(gen.bytes / 1024 / 1024, 0)} MiB generated`);
    const lines = (await readFile(file, 'utf8')).split('\n');
    lines.pop();
    let execs = 0;
    const t0 = process.hrtime.bigint();
    const cpu0 = process.cpuUsage();
    const stats = attributeLines(lines, { onOutput: () => execs++ });
    const coreMs = ms(process.hrtime.bigint() - t0);
    const cpu = process.cpuUsage(cpu0);
    // CPU time too: on a loaded machine the wall clock also counts time others held the core.
    const coreCpuMs = (cpu.user + cpu.system) / 1000;
    o.log('offline: attributeLines done');
    const cliMs = await timeChild(process.execPath, ['shim/main.ts', 'attribute', '--input', file]);
    const haveAusearch = existsSync('/usr/sbin/ausearch');
    // ausearch exits 1 when nothing matched; -if with --raw prints every event, so it matches.
    const ausearchMs = haveAusearch
      ? await timeChild('/usr/sbin/ausearch', ['--raw', '-if', file])
      : Number.NaN;
    const aureportMs = existsSync('/usr/sbin/aureport')
      ? await timeChild('/usr/sbin/aureport', ['--summary', '-if', file])
      : Number.NaN;
    const rate = (t: number) => Math.round(gen.records / (t / 1000));
    const ratio = ausearchMs / coreMs;
    return {
      name: 'offline attribution',
      method: `${gen.records} records (${round(gen.bytes / 1024 / 1024, 0)} MiB): test/fixtures/audit/live-session-scenario.log repeated with fresh serials, shifted times and pids; attributeLines over lines already in memory vs ausearch --raw -if / aureport --summary -if on the file (child processes, wall time); the shim CLI on the file too`,
      figures: {
        records: gen.records,
        'events assembled': stats.events,
        'execs out': execs,
        'bad lines': stats.badLines,
        'attributeLines rec/s': rate(coreMs),
        'attributeLines rec/s (CPU time)': rate(coreCpuMs),
        'shim attribute CLI rec/s': rate(cliMs),
        'ausearch --raw rec/s': haveAusearch ? rate(ausearchMs) : 'not installed',
        'aureport --summary rec/s': rate(aureportMs),
        'attributeLines / ausearch': round(ratio),
        'shim CLI / ausearch': round(ausearchMs / cliMs),
      },
      targets: [
        { what: 'attributeLines >= 2x ausearch --raw', met: ratio >= 2 },
        // The issue's own figure: 2x the ~280k rec/s it measured for ausearch --raw.
        { what: 'attributeLines >= 560k rec/s (wall)', met: rate(coreMs) >= 560_000 },
      ],
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
