// Progress of a long offline attribution, on stderr: a line every few seconds of wall time (the
// one place the offline tool reads the clock), with how much of the input is read when its size is
// known.

import type { PipelineStats } from './pipeline.ts';

const EVERY_MS = 2000;
const MIB = 1024 * 1024;

export interface Progress {
  bytes: number;
  totalBytes: number | null;
  stats: PipelineStats;
}

/** A progress callback that writes at most one line per EVERY_MS through `log`. */
export function progressLog(
  log: (line: string) => void,
  now: () => number = Date.now,
): (p: Progress) => void {
  let last = now();
  return (p) => {
    const t = now();
    if (t - last < EVERY_MS) return;
    last = t;
    log(progressLine(p));
  };
}

export function progressLine(p: Progress): string {
  const read =
    p.totalBytes === null || p.totalBytes === 0
      ? `${(p.bytes / MIB).toFixed(0)} MiB read`
      : `${(p.bytes / MIB).toFixed(0)} of ${(p.totalBytes / MIB).toFixed(0)} MiB read (${Math.floor((100 * p.bytes) / p.totalBytes)}%)`;
  return `progress: ${read}, ${p.stats.records} records, ${p.stats.execs} execs, ${p.stats.badLines} bad lines`;
}
