// Keystroke round trip with SIEM sinks that are down: a recorder whose webhook receiver refuses
// connections and whose syslog receiver accepts and never reads (a hung collector), against a
// recorder with no sink, in the same run, against the same pod. The sinks retry the whole time
// (every session start is an event waiting in the spool); a session must not feel it.
import { createServer, type Socket } from 'node:net';
import { Channel } from '../common/channel.ts';
import { freePort } from '../test/support/ports.ts';
import type { SandboxLike } from '../test/support/recorder.ts';
import { spawnRecorder } from '../test/support/recorder.ts';
import { type Endpoint, openRecorded } from './channel-client.ts';
import { ECHO_SPEC, ready, roundTrips } from './keystroke.ts';
import type { BenchResult } from './result.ts';
import { round, summarize } from './stats.ts';

export async function siemBench(o: {
  sandbox: SandboxLike;
  /** The recorder without any sink. */
  recorder: Endpoint;
  token: string;
  keystrokes: number;
}): Promise<BenchResult> {
  const refused = await freePort();
  const held: Socket[] = [];
  const blackHole = createServer((s) => {
    s.pause();
    held.push(s);
  });
  await new Promise<void>((r) => blackHole.listen(0, '127.0.0.1', r));
  const hole = (blackHole.address() as { port: number }).port;
  const withSinks = await spawnRecorder({
    sandbox: o.sandbox,
    env: { BENCH_HMAC: 'bench-secret' },
    args: [
      '--siem-sink',
      `type=webhook,url=http://127.0.0.1:${refused}/hook,secret-env=BENCH_HMAC,retry-max=1`,
      '--siem-sink',
      `type=syslog,url=tcp://127.0.0.1:${hole},timeout=2,retry-max=1`,
    ],
  });
  try {
    const sinked: Endpoint = { url: withSinks.url, caPem: withSinks.caPem, token: o.token };
    const streams = {
      none: await openRecorded(o.recorder, ECHO_SPEC),
      dead: await openRecorded(sinked, ECHO_SPEC),
    };
    await Promise.all(Object.values(streams).map((s) => ready(s)));
    const samples = { none: [] as number[], dead: [] as number[] };
    const block = 50;
    for (const side of ['none', 'dead'] as const) await roundTrips(streams[side], 20); // warm-up
    for (let done = 0; done < o.keystrokes; done += block) {
      for (const side of ['none', 'dead'] as const)
        samples[side].push(...(await roundTrips(streams[side], block)));
    }
    for (const s of Object.values(streams)) {
      s.send(Channel.stdin, '\x04');
      s.ws.close();
    }
    const none = summarize(samples.none);
    const dead = summarize(samples.dead);
    const ratio = dead.p50 / none.p50;
    const failing =
      /sink webhook is failing/.test(withSinks.stderr()) && /sink syslog is failing/.test(withSinks.stderr());
    return {
      name: 'keystroke with dead SIEM sinks',
      method: `${o.keystrokes} single bytes each, echo awaited, raw-tty cat in pod default/web, interleaved blocks of ${block}: a recorder whose webhook sink is refused and whose syslog sink never answers (both retrying every ≤1 s) vs a recorder with no sink`,
      figures: {
        'no sink p50 ms': round(none.p50, 3),
        'no sink p99 ms': round(none.p99, 3),
        'dead sinks p50 ms': round(dead.p50, 3),
        'dead sinks p99 ms': round(dead.p99, 3),
        'p50 ratio': round(ratio),
        'sinks were failing': failing,
      },
      targets: [
        { what: 'p50 ratio <= 1.1', met: ratio <= 1.1 },
        { what: 'both sinks failing during the run', met: failing },
      ],
    };
  } finally {
    await withSinks.stop();
    for (const s of held) s.destroy();
    blackHole.close();
  }
}
