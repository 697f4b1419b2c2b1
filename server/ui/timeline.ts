// The shim's attributed execs → a command timeline aligned with the recording (seconds from its
// start), used both as the clickable list beside the player and as the player's markers.

import { afterSessionEnd } from '../../common/after-end.ts';
import { markerOf } from '../../common/session-marker.ts';
import type { AttributedExec, AttributionAlert } from '../../common/wire.ts';
import { formatArgv } from './format.ts';

export interface TimelineEntry {
  /** seconds since the recording started, clamped to [0, duration] when the duration is known */
  t: number;
  /** where a click seeks when that is not `t`: just after the echo of the command line (seek-times.ts) */
  seek?: number;
  label: string;
  /** the program's name as a typed command line would show it (argv[0] without its folder) */
  program: string;
  time: string;
  pid: number;
  ppid: number;
  attribution: string | null;
  cwd: string | null;
  /** ran after the session ended (a nohup'd or daemonized command that outlived the shell) */
  afterEnd?: boolean;
  /** the recorder's marker wrapper (env AUDITED_EXEC_SESSION=… CMD): the session's start, not a
   *  command the user typed */
  start?: boolean;
}

export interface SessionEvents {
  execs: AttributedExec[];
  alerts: AttributionAlert[];
}

/**
 * Splits the mixed events answer (AttributedExec and AttributionAlert items) in two.
 * Unknown shapes are dropped rather than rendered: the UI must survive a newer shim.
 */
export function splitEvents(items: readonly unknown[]): SessionEvents {
  const execs: AttributedExec[] = [];
  const alerts: AttributionAlert[] = [];
  for (const item of items) {
    if (!item || typeof item !== 'object') continue;
    const o = item as Record<string, unknown>;
    if (typeof o.alert === 'string' && Array.isArray(o.argv)) alerts.push(o as unknown as AttributionAlert);
    else if (Array.isArray(o.argv) && typeof o.time === 'string') execs.push(o as unknown as AttributedExec);
  }
  return { execs, alerts };
}

export interface TimelineOptions {
  /** epoch ms at which the recording's t=0 lies */
  startMs: number;
  /** recording length in seconds, when known */
  duration?: number;
  /** ISO-8601 end of the session, when it has ended */
  endedAt?: string;
  /** label length */
  maxLabel?: number;
}

export function buildTimeline(execs: readonly AttributedExec[], options: TimelineOptions): TimelineEntry[] {
  const entries: TimelineEntry[] = [];
  for (const e of execs) {
    const ms = Date.parse(e.time);
    if (!Number.isFinite(ms)) continue;
    let t = Math.max(0, (ms - options.startMs) / 1000);
    if (options.duration !== undefined && Number.isFinite(options.duration))
      t = Math.min(t, options.duration);
    entries.push({
      t: Math.round(t * 1000) / 1000,
      label: formatArgv(e.argv, options.maxLabel ?? 200),
      program: (e.argv[0] ?? '').split('/').at(-1) ?? '',
      time: e.time,
      pid: e.pid,
      ppid: e.ppid,
      attribution: e.attribution,
      cwd: e.cwd,
      ...(afterSessionEnd(options, e.time) ? { afterEnd: true } : {}),
      ...(markerOf(e.argv) !== null ? { start: true } : {}),
    });
  }
  // Stable by time, then pid: the audit order within one millisecond is the fork order.
  return entries.sort((a, b) => a.t - b.t || a.pid - b.pid);
}

/** asciinema-player `markers` option: [time, label]. */
export function playerMarkers(entries: readonly TimelineEntry[]): [number, string][] {
  return entries.map((e) => [e.t, e.label.length > 80 ? `${e.label.slice(0, 79)}…` : e.label]);
}
