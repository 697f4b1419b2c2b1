// The `audited-exec-shim attribute` CLI on real-shaped logs of 1M and 4M records (the live capture
// repeated with pids that advance as on a real node, so the process table meets every process
// once): peak RSS and throughput of the default (one thread, low memory) against the path as it was
// before the memory work (one thread, V8's default heap: --no-low-memory) and against one parser
// worker (--workers 1), runs interleaved in the same bench, the built JS as deployed (dist/), its
// output compared byte for byte. GNU time gives each run's peak RSS (all threads) and CPU time.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, existsSync, openSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { generateAuditLog } from './audit-log-gen.ts';
import type { BenchResult } from './result.ts';
import { round } from './stats.ts';

const ROOT = resolve(import.meta.dirname, '..');
const FIXTURE = join(ROOT, 'test/fixtures/audit/live-session-scenario.log');
const TIME = '/usr/bin/time';
const MIB = 1024 * 1024;

/** default: what a user gets; before: the path as it was before the memory work (one thread, V8's
 *  default heap); worker: one parser worker beside the attributing thread. */
const MODES = ['default', 'before', 'worker'] as const;
type Mode = (typeof MODES)[number];
const FLAGS: Record<Mode, string[]> = {
  default: [],
  before: ['--workers', '0', '--no-low-memory'],
  worker: ['--workers', '1'],
};

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
    const figures: Record<string, number | string | boolean> = {};
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
      const runs: Record<Mode, Run[]> = { default: [], before: [], worker: [] };
      for (let i = 0; i < o.repeats; i++) {
        for (const mode of MODES) runs[mode].push(await cli(file, FLAGS[mode], dir));
        const round_ = Object.fromEntries(MODES.map((m) => [m, runs[m].at(-1)]));
        o.log(`offline-cli: ${label} round ${i + 1}: ${JSON.stringify(round_)}`);
      }
      const all = MODES.flatMap((m) => runs[m]);
      const same = all.every((r) => r.sha === all[0]!.sha);
      const rate = (r: Run) => gen.records / r.wallS;
      const ratios = runs.default.map((r, i) => rate(r) / rate(runs.before[i]!));
      const peak = (rs: Run[]) => Math.max(...rs.map((r) => r.peakMiB));
      Object.assign(figures, {
        [`${label} MiB of log`]: round(gen.bytes / MIB, 0),
        [`${label} same output`]: same,
        [`${label} default / before throughput (median of pairs)`]: round(median(ratios)),
      });
      for (const mode of MODES)
        Object.assign(figures, {
          [`${label} ${mode}: rec/s (best)`]: Math.round(Math.max(...runs[mode].map(rate))),
          [`${label} ${mode}: CPU s (median)`]: round(median(runs[mode].map((r) => r.cpuS))),
          [`${label} ${mode}: peak RSS MiB`]: round(peak(runs[mode]), 0),
        });
      targets.push(
        { what: `${label}: same output byte for byte`, met: same },
        { what: `${label}: peak RSS <= 150 MiB (default)`, met: peak(runs.default) <= 150 },
        {
          what: `${label}: throughput >= 2x the path before (median of pairs)`,
          met: median(ratios) >= 2,
        },
      );
      await rm(file);
    }
    return {
      name,
      method: `dist/shim/main.js attribute on generated logs (live-session-scenario.log repeated, pids advancing as on a node): default (${FLAGS.default.join(' ') || 'no flags'}), before (${FLAGS.before.join(' ')}), worker (${FLAGS.worker.join(' ')}), ${o.repeats} interleaved rounds each; wall time, CPU time and peak RSS from GNU time; stdout to a file, compared by SHA-256`,
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
