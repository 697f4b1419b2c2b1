// Attribution latency: from a command's exec (its audit timestamp) to the moment it is listed by
// the session's events API, through the real shim daemon tailing auditd's log. Commands are typed
// into a recorded bash one at a time; the API is polled every 20 ms (that is the resolution).
import { Channel } from '../common/channel.ts';
import { call } from '../test/server/client.ts';
import { missing } from '../test/support/prereq.ts';
import { openRecorded } from './channel-client.ts';
import type { BenchResult } from './result.ts';
import type { SandboxProcess } from './sandbox-process.ts';
import { startShimStage } from './shim-stage.ts';
import { summarize } from './stats.ts';

interface EventItem {
  auditTime: string;
  exec?: { argv: string[] };
}

/** audit time "1795474158.704" → ms since the epoch */
const auditMs = (t: string): number => Math.round(Number(t) * 1000);

export async function latencyBench(o: {
  sandbox: SandboxProcess;
  commands: number;
  log: (l: string) => void;
}): Promise<BenchResult> {
  const name = 'attribution latency';
  const why = missing('root', 'auditd');
  if (why) return { name, method: '', notMeasured: why };
  const sb = o.sandbox;
  const { rec, child, stop } = await startShimStage(sb, 'lat');
  try {
    await child.waitFor(/"msg":"connected to recorder"/, 60_000);
    const alice = { token: sb.tokens.alice! };
    const s = await openRecorded(
      { url: rec.url, caPem: rec.caPem, token: alice.token },
      { command: ['bash'], tty: false, stdin: true },
    );
    const samples: number[] = [];
    let missed = 0;
    for (let i = 0; i < o.commands; i++) {
      // A distinct argument per command so each exec is found exactly.
      const marker = `lat-${i}-${process.pid}`;
      s.send(Channel.stdin, `/bin/echo ${marker} >/dev/null\n`);
      const deadline = Date.now() + 10_000;
      let found: EventItem | undefined;
      while (!found && Date.now() < deadline) {
        const r = await call<{ items: EventItem[] }>(
          rec,
          alice,
          'GET',
          `/api/v1/sessions/${s.sessionId}/events`,
        );
        found = r.body.items?.find((e) => e.exec?.argv.includes(marker));
        if (!found) await new Promise((res) => setTimeout(res, 20));
      }
      if (found) samples.push(Date.now() - auditMs(found.auditTime));
      else missed++;
    }
    s.send(Channel.stdin, 'exit\n');
    await s.closed;
    const lat = summarize(samples);
    return {
      name,
      method: `${o.commands} commands typed one at a time into a recorded bash (pod default/web); latency = time the events API first listed the exec minus its audit timestamp; real shim daemon on /var/log/audit/audit.log; API polled every 20 ms`,
      figures: {
        commands: o.commands,
        'p50 ms': lat.p50,
        'p99 ms': lat.p99,
        'max ms': lat.max,
        'not seen within 10 s': missed,
      },
      targets: [{ what: 'p99 <= 1 s', met: missed === 0 && lat.p99 <= 1000 }],
    };
  } finally {
    await stop();
  }
}
