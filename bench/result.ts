// What one benchmark reports: a row of the printed table and an entry of bench/results/<date>.json.
export interface BenchResult {
  name: string;
  /** What was compared and how (printed under the row). */
  method: string;
  /** Measured figures; absent when the benchmark could not measure. */
  figures?: Record<string, number | string | boolean>;
  /** Each target and whether it was met. */
  targets?: { what: string; met: boolean }[];
  /** Set instead of figures when the run cannot measure (no root, no auditd, missing part). */
  notMeasured?: string;
  /** Where the run differs from the numbers (scaled down) and why. */
  scaled?: string;
}
