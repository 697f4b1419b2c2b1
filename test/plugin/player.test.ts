import { describe, expect, it } from 'vitest';
import type { Asciicast } from '../../common/asciicast.ts';
import { type Clock, play, schedule } from '../../plugin/player.ts';

/** A clock that only moves when play sleeps; records every sleep. */
function fakeClock(onSleep?: (t: number) => void): Clock & { t: number; sleeps: number[] } {
  const c = {
    t: 1000,
    sleeps: [] as number[],
    now: () => c.t,
    sleep: async (ms: number) => {
      c.sleeps.push(ms);
      c.t += ms;
      onSleep?.(c.t);
    },
  };
  return c;
}

const cast: Asciicast = {
  header: { version: 2, width: 80, height: 24 },
  events: [
    { time: 0.5, code: 'o', data: 'a' },
    { time: 0.5, code: 'i', data: 'typed' },
    { time: 1.0, code: 'r', data: '100x30' },
    { time: 11.0, code: 'o', data: 'b' },
    { time: 11.25, code: 'm', data: 'marker' },
    { time: 12.0, code: 'o', data: 'c' },
  ],
};

describe('schedule', () => {
  it('keeps recorded timing at speed 1 and skips input and markers', () => {
    expect(schedule(cast, { speed: 1 }).map((s) => [s.at, s.code, s.data])).toEqual([
      [500, 'o', 'a'],
      [1000, 'r', '100x30'],
      [11000, 'o', 'b'],
      [12000, 'o', 'c'],
    ]);
  });

  it('divides by the speed and caps idle pauses', () => {
    expect(schedule(cast, { speed: 2, idleTimeLimit: 2 }).map((s) => s.at)).toEqual([250, 500, 1500, 2000]);
  });

  it('takes the header idle_time_limit when no flag is given', () => {
    const withLimit = { ...cast, header: { ...cast.header, idle_time_limit: 1 } } as Asciicast;
    expect(schedule(withLimit, { speed: 1 }).map((s) => s.at)).toEqual([500, 1000, 2000, 3000]);
  });
});

describe('play', () => {
  it('writes each output event when it is due, by the clock', async () => {
    const out: Array<[number, string]> = [];
    const clock = fakeClock();
    const resizes: string[] = [];
    const r = await play(cast, {
      speed: 1,
      clock,
      write: (d) => {
        out.push([clock.t - 1000, d]);
      },
      onResize: (s) => resizes.push(s),
    });
    expect(r).toEqual({ completed: true, written: 3 });
    expect(out).toEqual([
      [500, 'a'],
      [11000, 'b'],
      [12000, 'c'],
    ]);
    expect(resizes).toEqual(['100x30']);
  });

  it('does not drift when writes are slow: waits are measured from the start', async () => {
    const clock = fakeClock();
    await play(cast, {
      speed: 1,
      clock,
      write: () => {
        clock.t += 300; // each write takes 300 ms
      },
    });
    // 500 → write (t=800); 1000 → 200; 11000 → 10000, write (t=11300); 12000 → 700
    expect(clock.sleeps).toEqual([500, 200, 10000, 700]);
  });

  it('stops when the signal aborts and reports it', async () => {
    const stop = new AbortController();
    const clock = fakeClock((t) => {
      if (t >= 2000) stop.abort();
    });
    const written: string[] = [];
    const r = await play(cast, { speed: 1, clock, signal: stop.signal, write: (d) => void written.push(d) });
    expect(r).toEqual({ completed: false, written: 1 });
    expect(written).toEqual(['a']);
  });
});
