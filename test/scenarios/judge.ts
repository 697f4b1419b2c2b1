// Attribution of a captured scenario in each mode the shim runs in, and the verdict against the
// shape's truth: every exec's session must be the one the scenario gave it. An exec whose session
// differs from the truth is wrong unless the shim said it was unsure (attribution `inferred`, with
// its reason) — and then only where the shape says the rules leave no link (needsForkRules).

import type { AttributedExec, AttributionAlert } from '../../common/wire.ts';
import { Pipeline } from '../../shim/pipeline.ts';
import type { ProcSource } from '../../shim/procfs.ts';
import { type Label, SESSION_IDS, type Shape, type TruthRule } from './shapes.ts';

/** offline: no /proc at all (the `attribute` CLI); no-proc: the live code path with a /proc that
 *  knows nothing (every process already gone, or the shim catching up after a restart) */
export type Mode = 'offline' | 'no-proc';
export const REPLAY_MODES: Mode[] = ['offline', 'no-proc'];

/** A /proc in which every process has already exited. */
export const EMPTY_PROC: ProcSource = {
  stat: () => null,
  cgroup: () => null,
  environ: () => null,
  nsPids: () => null,
  pids: () => new Set(),
};

export function pipelineFor(
  mode: Mode | 'live',
  out: AttributedExec[],
  proc?: ProcSource,
  alerts: AttributionAlert[] = [],
): Pipeline {
  return new Pipeline({
    proc: mode === 'offline' ? null : mode === 'no-proc' ? EMPTY_PROC : proc,
    emit: (o) => {
      if (o.exec) out.push(o.exec);
      if (o.alert) alerts.push(o.alert);
    },
  });
}

export function outputsIn(
  mode: Mode,
  lines: readonly string[],
): { execs: AttributedExec[]; alerts: AttributionAlert[] } {
  const execs: AttributedExec[] = [];
  const alerts: AttributionAlert[] = [];
  const p = pipelineFor(mode, execs, undefined, alerts);
  for (const l of lines) p.line(l);
  p.flush();
  return { execs, alerts };
}

export function attributeIn(mode: Mode, lines: readonly string[]): AttributedExec[] {
  return outputsIn(mode, lines).execs;
}

/** The shape's expected alerts that the shim did not raise (one raised alert answers one). */
export function missingAlerts(alerts: readonly AttributionAlert[], t: TruthFile): string[] {
  const left = [...alerts];
  const missing: string[] = [];
  for (const want of t.alerts ?? []) {
    const declared = want.declared === undefined ? undefined : SESSION_IDS[want.declared];
    const i = left.findIndex(
      (a) => a.alert === want.alert && (declared === undefined || a.declared === declared),
    );
    if (i < 0) missing.push(`${want.alert}${want.declared ? ` declaring ${want.declared}` : ''}`);
    else left.splice(i, 1);
  }
  return missing;
}

export interface TruthFile {
  shape: string;
  rules: string;
  truth: TruthRule[];
  needsForkRules?: string;
  alerts?: Shape['alerts'];
}

export interface Verdict {
  execs: number;
  right: number;
  /** unflagged mismatches, and flagged ones the shape does not excuse */
  wrong: string[];
  /** execs the shim marked inferred (right or excused) */
  unsure: string[];
}

/** Runtime processes and the image's own pid 1 belong to nobody, whatever the shape. */
const ALWAYS: TruthRule[] = [
  { argv: '^(\\S*/)?runc( |$)', session: null },
  { argv: '^(sleep infinity|tini -- sleep infinity)$', session: null },
];

export function expectedSession(argv: readonly string[], rules: readonly TruthRule[]): Label | null {
  const text = argv.join(' ');
  for (const r of [...ALWAYS, ...rules]) if (new RegExp(r.argv).test(text)) return r.session;
  return null;
}

/**
 * Right: the true session. Under execve-only rules, for a shape that says it needs the fork rules,
 * also excused: no session (the log has no link: the shell was gone before its child's first
 * exec) or a session the shim marked inferred. Never excused: another session, unflagged.
 */
export function judge(execs: readonly AttributedExec[], t: TruthFile): Verdict {
  const v: Verdict = { execs: execs.length, right: 0, wrong: [], unsure: [] };
  const lenient = t.rules === 'execve' && t.needsForkRules !== undefined;
  for (const e of execs) {
    const want = expectedSession(e.argv, t.truth);
    const wantId = want === null ? null : SESSION_IDS[want];
    const how = e.attribution ? ` (${e.attribution}${e.reason ? `: ${e.reason}` : ''})` : '';
    const what = `${JSON.stringify(e.argv)} pid ${e.pid} ppid ${e.ppid}: want ${want ?? 'none'}, got ${label(e.session)}${how}`;
    if (e.attribution === 'inferred') v.unsure.push(what);
    if (e.session === wantId) v.right++;
    else if (!(lenient && (e.session === null || e.attribution === 'inferred'))) v.wrong.push(what);
  }
  return v;
}

function label(id: string | null): string {
  if (id === null) return 'none';
  for (const [l, s] of Object.entries(SESSION_IDS)) if (s === id) return l;
  return id;
}
