// Many concurrent sessions against one recorder process (a child, so its RSS can be read from
// /proc): most idle (`cat` waiting on stdin), some busy (keystroke round trips on a raw-tty cat).
// Checks memory, that no session is dropped (each idle one still echoes, and every one ends with
// exit status Success), and the busy sessions' latency.
import { Channel } from '../common/channel.ts';
import { spawnRecorder } from '../test/support/recorder.ts';
import { type ChannelStream, type Endpoint, openRecorded } from './channel-client.ts';
import type { BenchResult } from './result.ts';
import { spawnSandbox } from './sandbox-process.ts';
import { memoryMiB, ms, round, summarize } from './stats.ts';

export interface ConcurrencyOptions {
  sessions: number;
  busy: number;
  /** keystroke round trips per busy session */
  roundTrips: number;
  /** 'pty': pods as host processes, when runc execs at this count would overrun the machine */
  runtime: 'auto' | 'pty';
  log: (line: string) => void;
}

interface Open {
  stream: ChannelStream;
  output: string;
  status: string | null;
  waiter: (() => void) | null;
  busy: boolean;
}

function track(stream: ChannelStream, busy: boolean): Open {
  const o: Open = { stream, output: '', status: null, waiter: null, busy };
  stream.onOutput((c) => {
    o.output += c.toString('latin1');
    o.waiter?.();
  });
  stream.ws.on('message', (data: Buffer) => {
    if (data[0] === Channel.status) o.status = data.subarray(1).toString('utf8');
  });
  return o;
}

function waitFor(o: Open, text: string, timeoutMs = 30_000): Promise<void> {
  if (o.output.includes(text)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no "${text}" within ${timeoutMs} ms`)), timeoutMs);
    o.waiter = () => {
      if (o.output.includes(text)) {
        clearTimeout(t);
        o.waiter = null;
        resolve();
      }
    };
  });
}

const sleep = (msec: number) => new Promise((r) => setTimeout(r, msec));

/** Runs `fn` over items with at most `width` in flight. */
export async function pool<T, R>(
  items: T[],
  width: number,
  fn: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}

export async function concurrencyBench(o: ConcurrencyOptions): Promise<BenchResult> {
  const sb = await spawnSandbox({ runtime: o.runtime });
  const rec = await spawnRecorder({ sandbox: sb });
  const ep: Endpoint = { url: rec.url, caPem: rec.caPem, token: sb.tokens.alice! };
  const open: Open[] = [];
  try {
    const baseline = memoryMiB(rec.pid);
    const t0 = process.hrtime.bigint();
    const idleCount = o.sessions - o.busy;
    await pool(Array.from({ length: o.sessions }), 16, async (_, i) => {
      const busy = i >= idleCount;
      const stream = await openRecorded(ep, {
        // dd bs=1: echoes each byte as read and exits 0 after the last round trip (raw ttys have no EOF).
        command: busy
          ? ['sh', '-c', `stty raw -echo; echo ready; exec dd bs=1 count=${o.roundTrips} status=none`]
          : ['sh', '-c', 'echo ready; exec cat'],
        tty: busy,
        stdin: true,
      });
      const t = track(stream, busy);
      open.push(t);
      await waitFor(t, 'ready');
      if ((i + 1) % 100 === 0) o.log(`concurrency: ${i + 1}/${o.sessions} sessions open`);
    });
    const openSeconds = ms(process.hrtime.bigint() - t0) / 1000;
    const allOpen = memoryMiB(rec.pid);
    // Busy sessions: keystroke round trips, all 50 at once.
    const busy = open.filter((x) => x.busy);
    const busySet = new Set(busy);
    const idle = open.filter((x) => !busySet.has(x));
    const samples: number[] = [];
    let lost = 0;
    o.log(`concurrency: ${busy.length} busy sessions typing`);
    await Promise.all(
      busy.map(async (b) => {
        for (let i = 0; i < o.roundTrips; i++) {
          const mark = String.fromCharCode(97 + (i % 26));
          const before = b.output.length;
          const s = process.hrtime.bigint();
          const seen = new Promise<void>((resolve) => {
            b.waiter = () => {
              if (b.output.length > before && b.output.slice(before).includes(mark)) {
                b.waiter = null;
                resolve();
              }
            };
          });
          b.stream.send(Channel.stdin, mark);
          const timedOut = await Promise.race([seen.then(() => false), sleep(10_000).then(() => true)]);
          if (timedOut) {
            lost++;
            return;
          }
          samples.push(ms(process.hrtime.bigint() - s));
        }
      }),
    );
    const duringBusy = memoryMiB(rec.pid);
    o.log(`concurrency: checking ${o.sessions - busy.length} idle sessions still echo`);
    // None dropped: every idle session still echoes a line, then every session ends cleanly.
    let echoed = 0;
    await pool(idle, 32, async (x, i) => {
      x.stream.send(Channel.stdin, `alive-${i}\n`);
      await waitFor(x, `alive-${i}`, 10_000).then(
        () => echoed++,
        () => {},
      );
    });
    const closes = await pool(open, 64, async (x) => {
      if (!busySet.has(x)) x.stream.send(Channel.close, Buffer.from([Channel.stdin]));
      const code = await Promise.race([
        x.stream.closed,
        new Promise<number>((r) => setTimeout(() => r(-1), 30_000)),
      ]);
      return code === 1000 && (x.status ?? '').includes('Success');
    });
    o.log('concurrency: closing');
    const endedClean = closes.filter(Boolean).length;
    const final = memoryMiB(rec.pid);
    const lat = summarize(samples);
    const peak = Math.max(final.hwm, duringBusy.hwm);
    return {
      name: 'concurrency',
      method: `${o.sessions} sessions on one recorder process (idle: cat on stdin, no tty; busy: "dd bs=1 count=N" on a raw tty, echoing each byte), ${o.busy} busy doing ${o.roundTrips} keystroke round trips each at once; RSS from /proc/PID/status; dropped = idle sessions that no longer echo + sessions not ending with Success and close 1000`,
      figures: {
        sessions: o.sessions,
        'pod runtime': o.runtime === 'pty' ? 'pty (host processes)' : 'runc',
        'seconds to open all': round(openSeconds, 1),
        'RSS baseline MiB': round(baseline.rss, 1),
        'RSS all open MiB': round(allOpen.rss, 1),
        'RSS busy MiB': round(duringBusy.rss, 1),
        'VmHWM MiB': round(peak, 1),
        'idle still echoing': `${echoed}/${idle.length}`,
        'ended cleanly': `${endedClean}/${open.length}`,
        'busy RTT p50 ms': round(lat.p50, 2),
        'busy RTT p99 ms': round(lat.p99, 2),
        'busy keystrokes without echo (10 s)': lost,
      },
      targets: [
        { what: 'VmHWM <= 300 MiB', met: peak <= 300 },
        {
          what: 'none dropped',
          met:
            lost === 0 && echoed === idle.length && endedClean === open.length && open.length === o.sessions,
        },
      ],
    };
  } finally {
    for (const x of open) x.stream.ws.terminate();
    await rec.stop();
    await sb.stop();
  }
}
