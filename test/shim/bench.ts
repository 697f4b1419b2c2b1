// Shim throughput benchmark (not a test): `node test/shim/bench.ts [records] [file]`.
// Builds a log of `records` audit records (default 1M) by repeating the captured live-session
// scenario with fresh serials and later timestamps, then times attributeLines over it in memory:
// parse + assemble + interpret + attribute on one core. Prints records/s (best of 3 runs).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { attributeLines } from '../../shim/offline.ts';
import { parseAuditLine } from '../../shim/parser.ts';

const FIXTURE = join(import.meta.dirname, '../fixtures/audit/live-session-scenario.log');
const HEADER = /msg=audit\((\d+)\.(\d+):(\d+)\)/;

export function buildBenchLog(records: number): string[] {
  const base = readFileSync(FIXTURE, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0);
  const serials = base.map((l) => Number(HEADER.exec(l)![3]));
  const first = Math.min(...serials);
  const span = Math.max(...serials) - first + 1;
  const out: string[] = [];
  for (let copy = 0; out.length < records; copy++) {
    for (const line of base) {
      if (out.length >= records) break;
      out.push(
        line.replace(HEADER, (_m, sec: string, ms: string, serial: string) => {
          // Each copy 30 s later, so the process table's idle eviction sees time pass.
          const s = Number(sec) + copy * 30;
          return `msg=audit(${s}.${ms}:${Number(serial) - first + 1 + copy * span})`;
        }),
      );
    }
  }
  return out;
}

function best(runs: number, fn: () => void): number {
  let min = Number.POSITIVE_INFINITY;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    fn();
    min = Math.min(min, performance.now() - t);
  }
  return min;
}

if (import.meta.main) {
  const records = Number(process.argv[2] ?? 1_000_000);
  const file = process.argv[3] ?? `/tmp/shim-bench-${records}.log`;
  if (!existsSync(file)) writeFileSync(file, `${buildBenchLog(records).join('\n')}\n`);
  const lines = readFileSync(file, 'utf8').split('\n');
  let execs = 0;
  const full = best(3, () => {
    execs = attributeLines(lines, { onOutput: () => {} }).execs;
  });
  const header = best(3, () => {
    for (const l of lines) parseAuditLine(l);
  });
  const fields = best(1, () => {
    for (const l of lines) {
      const r = parseAuditLine(l);
      if (r.kind === 'record') void r.fields;
    }
  });
  const rate = (ms: number) => Math.round((records / ms) * 1000);
  console.log(
    JSON.stringify({
      records,
      execs,
      attributeLinesPerSec: rate(full),
      headerParsePerSec: rate(header),
      fullFieldParsePerSec: rate(fields),
    }),
  );
}
