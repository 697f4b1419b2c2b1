// Keystroke round trip: one byte in on stdin, wait for its echo on stdout, through the recorder and
// straight at the apiserver, against the same pod. The remote side is `cat` on a raw tty (the
// echo comes from the process, not the line discipline), so each sample crosses every hop twice.
import { Channel } from '../common/channel.ts';
import {
  type ChannelStream,
  type Endpoint,
  type ExecSpec,
  openDirect,
  openRecorded,
} from './channel-client.ts';
import type { BenchResult } from './result.ts';
import { ms, round, summarize, within } from './stats.ts';

/** Generous on a loaded 2-core machine: a round trip takes milliseconds; a lost echo never comes. */
const ECHO_DEADLINE_S = 30;
const READY_DEADLINE_S = 120;

/** A raw-tty `cat` that says ready: each byte sent comes back from the process itself. */
export const ECHO_SPEC: ExecSpec = {
  command: ['bash', '-c', 'stty raw -echo; echo ready; exec cat'],
  tty: true,
  stdin: true,
};

export async function ready(s: ChannelStream, name = 'stream'): Promise<void> {
  let seen = '';
  await within(
    new Promise<void>((resolve) =>
      s.onOutput((c) => {
        seen += c.toString('latin1');
        if (seen.includes('ready')) resolve();
      }),
    ),
    READY_DEADLINE_S,
    () => `the ${name} stream never said ready (output so far: ${JSON.stringify(seen.slice(-80))})`,
  );
}

/** Sends `count` single bytes one after another; returns each round trip in ms. */
export async function roundTrips(s: ChannelStream, count: number, name = 'stream'): Promise<number[]> {
  const samples: number[] = [];
  let waiter: ((c: Buffer) => void) | null = null;
  s.onOutput((c) => waiter?.(c));
  for (let i = 0; i < count; i++) {
    const byte = String.fromCharCode(97 + (i % 26));
    const t0 = process.hrtime.bigint();
    await within(
      new Promise<void>((resolve) => {
        waiter = (c) => {
          if (c.includes(byte)) {
            waiter = null;
            resolve();
          }
        };
        s.send(Channel.stdin, byte);
      }),
      ECHO_DEADLINE_S,
      () => `keystroke ${i + 1} on the ${name} stream was never echoed`,
    );
    samples.push(ms(process.hrtime.bigint() - t0));
  }
  return samples;
}

export async function keystrokeBench(o: {
  recorder: Endpoint;
  api: Endpoint;
  /** The bare TLS relay (tls-relay.ts) in front of the same apiserver: the floor for any hop. */
  relay: Endpoint;
  keystrokes: number;
}): Promise<BenchResult> {
  const streams = {
    recorded: await openRecorded(o.recorder, ECHO_SPEC),
    direct: await openDirect(o.api, ECHO_SPEC),
    relay: await openDirect(o.relay, ECHO_SPEC),
  };
  await Promise.all(Object.entries(streams).map(([name, s]) => ready(s, name)));
  const samples: Record<keyof typeof streams, number[]> = { recorded: [], direct: [], relay: [] };
  const sides = Object.keys(streams) as (keyof typeof streams)[];
  // Interleave blocks so drift (other load on the machine) hits every side alike.
  const block = 50;
  for (const side of sides) await roundTrips(streams[side], 20, side); // warm-up
  for (let done = 0; done < o.keystrokes; done += block) {
    for (const side of sides) samples[side].push(...(await roundTrips(streams[side], block, side)));
  }
  for (const s of Object.values(streams)) {
    s.send(Channel.stdin, '\x04');
    s.ws.close();
  }
  const rec = summarize(samples.recorded);
  const dir = summarize(samples.direct);
  const relay = summarize(samples.relay);
  const p50Ratio = rec.p50 / dir.p50;
  const p99Added = rec.p99 - dir.p99;
  return {
    name: 'keystroke round trip',
    method: `${o.keystrokes} single bytes each, echo awaited, raw-tty cat in pod default/web; recorder vs direct WebSocket exec on the sandbox apiserver, interleaved blocks of ${block}; "bare relay": the same exec through a process that only terminates TLS and copies bytes (bench/tls-relay.ts), the least any extra hop adds here`,
    figures: {
      'recorded p50 ms': round(rec.p50, 3),
      'recorded p99 ms': round(rec.p99, 3),
      'direct p50 ms': round(dir.p50, 3),
      'direct p99 ms': round(dir.p99, 3),
      'p50 ratio': round(p50Ratio),
      'p99 added ms': round(p99Added, 3),
      'bare relay p50 ms': round(relay.p50, 3),
      'bare relay p50 ratio': round(relay.p50 / dir.p50),
      'bare relay p99 added ms': round(relay.p99 - dir.p99, 3),
      'recorder p50 over bare relay ms': round(rec.p50 - relay.p50, 3),
    },
    targets: [
      { what: 'p50 ratio <= 1.2', met: p50Ratio <= 1.2 },
      { what: 'p99 added <= 1 ms', met: p99Added <= 1 },
    ],
  };
}
