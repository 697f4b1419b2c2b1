// Replays an asciicast's output with its timing. Time comes from a Clock (real by default) so the
// schedule is testable without waiting; the schedule is absolute (start + t/speed), so slow writes
// do not accumulate drift.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Asciicast } from '../common/asciicast.ts';

export interface Clock {
  /** milliseconds, monotonic */
  now(): number;
  /** Resolves after ms, or early (without throwing) when the signal aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const realClock: Clock = {
  now: () => performance.now(),
  sleep: (ms, signal) => sleep(ms, undefined, signal ? { signal } : {}).catch(() => undefined),
};

export interface PlayOptions {
  /** 2 = twice as fast */
  speed: number;
  /** seconds; longer pauses are shortened to this (asciinema's idle_time_limit) */
  idleTimeLimit?: number;
  clock?: Clock;
  signal?: AbortSignal;
  write: (data: string) => void | Promise<void>;
  /** an `r` event: the recorded terminal changed size */
  onResize?: (size: string) => void;
}

export interface PlayResult {
  /** false when the signal stopped playback */
  completed: boolean;
  /** output events written */
  written: number;
}

interface Step {
  /** milliseconds after the start of playback */
  at: number;
  code: string;
  data: string;
}

/** Pure: when each output or resize event is due, after the idle limit and the speed. */
export function schedule(cast: Asciicast, opts: Pick<PlayOptions, 'speed' | 'idleTimeLimit'>): Step[] {
  const idle = opts.idleTimeLimit ?? headerIdleLimit(cast) ?? Number.POSITIVE_INFINITY;
  const steps: Step[] = [];
  let previous = 0;
  let elapsed = 0;
  for (const e of cast.events) {
    elapsed += Math.min(Math.max(0, e.time - previous), idle);
    previous = Math.max(previous, e.time);
    if (e.code !== 'o' && e.code !== 'r') continue; // input and markers are not shown
    steps.push({ at: (elapsed * 1000) / opts.speed, code: e.code, data: e.data });
  }
  return steps;
}

function headerIdleLimit(cast: Asciicast): number | undefined {
  const v = (cast.header as { idle_time_limit?: unknown }).idle_time_limit;
  return typeof v === 'number' && v > 0 ? v : undefined;
}

export async function play(cast: Asciicast, opts: PlayOptions): Promise<PlayResult> {
  const clock = opts.clock ?? realClock;
  const start = clock.now();
  let written = 0;
  for (const step of schedule(cast, opts)) {
    if (opts.signal?.aborted) return { completed: false, written };
    const wait = start + step.at - clock.now();
    if (wait > 0) await clock.sleep(wait, opts.signal);
    if (opts.signal?.aborted) return { completed: false, written };
    if (step.code === 'r') {
      opts.onResize?.(step.data);
      continue;
    }
    await opts.write(step.data);
    written++;
  }
  return { completed: true, written };
}
