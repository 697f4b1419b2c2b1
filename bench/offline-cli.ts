// The `audited-exec-shim attribute` CLI on real-shaped logs of 1M and 4M records (the live capture
// repeated with pids that advance as on a real node, so the process table meets every process
// once): peak RSS and throughput of the single-threaded path (--workers 0) against parser workers
// (the default), and against those with --no-low-memory, runs interleaved in the same bench, the built JS as deployed (dist/), its output
// compared byte for byte. GNU time gives each run's peak RSS (all threads) and CPU time.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, existsSync, openSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { defaultWorkers } from '../shim/config.ts';
import { generateAuditLog } from './audit-log-gen.ts';
import type { BenchResult } from './result.ts';
import { round } from './stats.ts';

const ROOT = resolve(import.meta.dirname, '..');
const FIXTURE = join(ROOT, 'test/fixtures/audit/live-session-scenario.log');
const TIME = '/usr/bin/time';
const MIB = 1024 * 1024;

interface Run {
  wallS: number;
  cpuS: number;
  peakMiB: number;
  sha: string;
}

export async function offlineCliBench(o: {
  sizes: number[];
  repeats: number;
  log: (l: string) => void;
}): Promise<BenchResult> {
  const name = 'offline attribute CLI';
  if (!existsSync(TIME)) return { name, method: '', notMeasured: `${TIME} (GNU time) is not installed` };
  const dir = await mkdtemp(join(tmpdir(), 'bench-offline-cli-'));
  try {
    await child(process.execPath, [
      join(ROOT, 'node_modules/typescript/bin/tsc'),
      '-p',
      'tsconfig.build.json',
    ]);
    const workers = defaultWorkers();
    const figures: Record<string, number | string | boolean> = { 'parser workers (default)': workers };
    const targets: { what: string; met: boolean }[] = [];
    for (const records of o.sizes) {
      const file = join(dir, 'audit.log');
      const gen = await generateAuditLog({
        fixture: FIXTURE,
        out: file,
        minRecords: records,
        pids: 'advance',
      });
      const label = `${round(gen.records / 1e6, 1)}M`;
      o.log(`offline-cli: ${label} records, ${round(gen.bytes / MIB, 0)} MiB generated`);
      const one: Run[] = [];
      const many: Run[] = [];
      const fast: Run[] = [];
      for (let i = 0; i < o.repeats; i++) {
        one.push(await cli(file, ['--workers', '0'], dir));
        many.push(await cli(file, ['--workers', String(workers)], dir));
        fast.push(await cli(file, ['--workers', String(workers), '--no-low-memory'], dir));
        const round_ = { one: one.at(-1), many: many.at(-1), fast: fast.at(-1) };
        o.log(`offline-cli: ${label} round ${i + 1}: ${JSON.stringify(round_)}`);
      }
      const same = [...one, ...many, ...fast].every((r) => r.sha === one[0]!.sha);
      const rate = (r: Run) => gen.records / r.wallS;
      const ratios = one.map((r, i) => rate(many[i]!) / rate(r));
      const peak = (runs: Run[]) => Math.max(...runs.map((r) => r.peakMiB));
      Object.assign(figures, {
        [`${label} MiB of log`]: round(gen.bytes / MIB, 0),
        [`${label} same output`]: same,
        [`${label} --workers 0 rec/s (best)`]: Math.round(Math.max(...one.map(rate))),
        [`${label} workers rec/s (best)`]: Math.round(Math.max(...many.map(rate))),
        [`${label} throughput ratio (median of pairs)`]: round(median(ratios)),
        [`${label} CPU s --workers 0 / workers (median)`]: `${round(median(one.map((r) => r.cpuS)))} / ${round(median(many.map((r) => r.cpuS)))}`,
        [`${label} peak RSS MiB --workers 0`]: round(peak(one), 0),
        [`${label} peak RSS MiB workers`]: round(peak(many), 0),
        [`${label} workers --no-low-memory rec/s (best)`]: Math.round(Math.max(...fast.map(rate))),
        [`${label} workers --no-low-memory CPU s (median)`]: round(median(fast.map((r) => r.cpuS))),
        [`${label} workers --no-low-memory peak RSS MiB`]: round(peak(fast), 0),
      });
      targets.push(
        { what: `${label}: same output byte for byte`, met: same },
        { what: `${label}: peak RSS <= 150 MiB (workers)`, met: peak(many) <= 150 },
        { what: `${label}: throughput >= 2x --workers 0 (median of pairs)`, met: median(ratios) >= 2 },
      );
      await rm(file);
    }
    return {
      name,
      method: `dist/shim/main.js attribute on generated logs (live-session-scenario.log repeated, pids advancing as on a node), --workers 0 vs --workers ${workers} (and with --no-low-memory), ${o.repeats} interleaved rounds each; wall time, CPU time and peak RSS from GNU time; stdout to a file, compared by SHA-256`,
      figures,
      targets,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function cli(file: string, flags: string[], dir: string): Promise<Run> {
  const out = join(dir, 'out.jsonl');
  const times = join(dir, 'time.txt');
  const fd = openSync(out, 'w');
  try {
    await child(
      TIME,
      [
        '-o',
        times,
        '-f',
        '%e %U %S %M',
        process.execPath,
        'dist/shim/main.js',
        'attribute',
        ...flags,
        '--no-progress',
        '--input',
        file,
      ],
      fd,
    );
  } finally {
    closeSync(fd);
  }
  const [wall, user, sys, kb] = (await readFile(times, 'utf8'))
    .trim()
    .split('\n')
    .at(-1)!
    .split(' ')
    .map(Number);
  return { wallS: wall!, cpuS: round(user! + sys!), peakMiB: round(kb! / 1024, 1), sha: await sha256(out) };
}

function child(file: string, args: string[], stdout: number | 'ignore' = 'ignore'): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const c = spawn(file, args, { stdio: ['ignore', stdout, 'pipe'], cwd: ROOT });
    let err = '';
    c.stderr!.on('data', (d) => {
      err += d;
    });
    c.on('error', reject);
    c.on('exit', (code) =>
      code === 0 ? resolvePromise() : reject(new Error(`${file} exited ${code}: ${err.slice(-400)}`)),
    );
  });
}

function sha256(file: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const h = createHash('sha256');
    createReadStream(file)
      .on('data', (d) => h.update(d))
      .on('end', () => resolvePromise(h.digest('hex')))
      .on('error', reject);
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2;
}
