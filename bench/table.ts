// The printed report: one block per benchmark (figures, targets met or missed, method, scaling).
import type { BenchResult } from './result.ts';

export function formatTable(results: BenchResult[], o: { elapsedSeconds: number; quick: boolean }): string {
  const lines: string[] = [];
  lines.push(
    `audited-exec benchmarks${o.quick ? ' (QUICK smoke run: sizes shrunk, not figures to record)' : ''}`,
  );
  lines.push('='.repeat(78));
  for (const r of results) {
    lines.push(r.name.toUpperCase());
    if (r.notMeasured) lines.push(`  not measured: ${r.notMeasured}`);
    const figures = Object.entries(r.figures ?? {});
    const width = Math.max(0, ...figures.map(([k]) => k.length));
    for (const [k, v] of figures) lines.push(`  ${k.padEnd(width)}  ${v}`);
    for (const t of r.targets ?? []) lines.push(`  target ${t.met ? 'MET   ' : 'MISSED'} ${t.what}`);
    if (r.method) lines.push(`  how: ${r.method}`);
    if (r.scaled) lines.push(`  scaled: ${r.scaled}`);
    lines.push('-'.repeat(78));
  }
  lines.push(`whole run: ${o.elapsedSeconds} s`);
  return `${lines.join('\n')}\n`;
}
