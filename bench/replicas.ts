// 3 replicas vs 1: the same recorder on the same engines (PostgreSQL, a Ceph RGW bucket) behind the
// same HAProxy (test/support/replicas.ts), once with one replica and once with three. Both clusters
// are up at once and measured in alternating blocks (A B, then B A), so drift and the idle cost of
// the other cluster hit both sides alike and the row compares the replica count only. Every
// session goes through the balancer URL, as a user's kubectl does.
import { availableParallelism } from 'node:os';
import { Channel } from '../common/channel.ts';
import type { SessionRecord } from '../common/wire.ts';
import { rgwMissing } from '../test/support/ceph-rgw.ts';
import { haproxyMissing } from '../test/support/haproxy.ts';
import { missing } from '../test/support/prereq.ts';
import { type ReplicaCluster, startReplicaCluster } from '../test/support/replicas.ts';
import { type ChannelStream, type Endpoint, getText, openRecorded } from './channel-client.ts';
import { pool } from './concurrency.ts';
import { ECHO_SPEC, ready, roundTrips } from './keystroke.ts';
import type { BenchResult } from './result.ts';
import type { SandboxProcess } from './sandbox-process.ts';
import { round, summarize } from './stats.ts';

export interface ReplicasBenchOptions {
  sandbox: SandboxProcess;
  /** sessions opened per side, timed */
  sessions: number;
  /** sessions in flight at once */
  concurrency: number;
  /** keystroke round trips per side */
  keystrokes: number;
  log: (line: string) => void;
}

const NAME = '3 replicas vs 1';
const BLOCKS = 2;
const KEYSTROKE_BLOCK = 50;

interface Side {
  label: string;
  cluster: ReplicaCluster;
  user: Endpoint;
  auditor: Endpoint;
  seconds: number;
  opened: string[];
  errors: string[];
  rtts: number[];
}

/** Create, open the stream, run `echo` to its end; the session's id once it ended with Success. */
async function oneSession(ep: Endpoint): Promise<string> {
  const s = await openRecorded(ep, { command: ['echo', 'opened'], tty: false, stdin: false });
  let status = '';
  let output = '';
  s.ws.on('message', (data: Buffer) => {
    if (data[0] === Channel.status) status = data.subarray(1).toString('utf8');
  });
  s.onOutput((c) => (output += c.toString('utf8')));
  const code = await s.closed;
  if (code !== 1000 || !status.includes('Success') || !output.includes('opened')) {
    throw new Error(`session ${s.sessionId} ended with close ${code}, status ${status || 'none'}`);
  }
  return s.sessionId!;
}

async function openSessions(side: Side, count: number, width: number, timed: boolean): Promise<void> {
  const t0 = performance.now();
  await pool(Array.from({ length: count }), width, () =>
    oneSession(side.user).then(
      (id) => {
        if (timed) side.opened.push(id);
      },
      (err: Error) => {
        side.errors.push(err.message);
      },
    ),
  );
  if (timed) side.seconds += (performance.now() - t0) / 1000;
}

/** How many of the side's timed sessions each replica recorded, e.g. "r1 14, r2 13, r3 13". */
async function spread(side: Side): Promise<Map<string, number>> {
  const byReplica = new Map<string, number>();
  for (const id of side.opened) {
    const r = await getText(side.auditor, `/api/v1/sessions/${id}`);
    const replica = (JSON.parse(r.text) as SessionRecord).replica ?? '?';
    byReplica.set(replica, (byReplica.get(replica) ?? 0) + 1);
  }
  return byReplica;
}

function sideOf(label: string, cluster: ReplicaCluster, sb: SandboxProcess): Side {
  const at = (user: string): Endpoint => ({
    url: cluster.url,
    caPem: cluster.caPem,
    token: sb.tokens[user]!,
  });
  return {
    label,
    cluster,
    user: at('alice'),
    auditor: at('auditor'),
    seconds: 0,
    opened: [],
    errors: [],
    rtts: [],
  };
}

export async function replicasBench(o: ReplicasBenchOptions): Promise<BenchResult> {
  const absent = missing('postgres') ?? rgwMissing() ?? haproxyMissing();
  if (absent) return { name: NAME, method: '', notMeasured: absent };
  o.log('replicas: starting a 1-replica and a 3-replica cluster (PostgreSQL, Ceph RGW, HAProxy each)');
  const started = await Promise.allSettled([
    startReplicaCluster({ sandbox: o.sandbox, count: 1 }),
    startReplicaCluster({ sandbox: o.sandbox, count: 3 }),
  ]);
  const clusters = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const streams: ChannelStream[] = [];
  try {
    for (const s of started) if (s.status === 'rejected') throw s.reason;
    const sides = [
      sideOf('1 replica', clusters[0]!, o.sandbox),
      sideOf('3 replicas', clusters[1]!, o.sandbox),
    ];
    const inOrder = (block: number) => (block % 2 === 0 ? sides : [...sides].reverse());
    o.log('replicas: clusters up; warming up');
    // Untimed: every replica's first session (kube client, pool connections, first upload).
    for (const side of sides) {
      await openSessions(side, 2 * side.cluster.replicas.length, o.concurrency, false);
    }
    const perBlock = Math.ceil(o.sessions / BLOCKS);
    for (let b = 0; b < BLOCKS; b++) {
      for (const side of inOrder(b)) await openSessions(side, perBlock, o.concurrency, true);
    }
    o.log('replicas: sessions timed; keystrokes');
    const typing = new Map<Side, ChannelStream>();
    for (const side of sides) {
      const s = await openRecorded(side.user, ECHO_SPEC);
      streams.push(s);
      await ready(s);
      await roundTrips(s, 20); // warm-up
      typing.set(side, s);
    }
    const keystrokeBlocks = Math.ceil(o.keystrokes / KEYSTROKE_BLOCK);
    for (let b = 0; b < keystrokeBlocks; b++) {
      for (const side of inOrder(b)) {
        side.rtts.push(...(await roundTrips(typing.get(side)!, KEYSTROKE_BLOCK)));
      }
    }
    return await report(o, sides, perBlock * BLOCKS);
  } finally {
    for (const s of streams) s.ws.terminate();
    await Promise.all(clusters.map((c) => c.stop()));
  }
}

async function report(o: ReplicasBenchOptions, sides: Side[], timed: number): Promise<BenchResult> {
  const [one, three] = sides as [Side, Side];
  const rate = (s: Side) => s.opened.length / s.seconds;
  const p50 = (s: Side) => summarize(s.rtts).p50;
  const byReplica = await spread(three);
  const failed = one.errors.length + three.errors.length;
  const cores = availableParallelism();
  return {
    name: NAME,
    method: `the same recorder on one PostgreSQL database and one Ceph RGW bucket behind HAProxy (round robin, TLS passed through), one replica vs three, both clusters up at once and measured in alternating blocks; sessions/s: ${timed} sessions per side through the balancer, ${o.concurrency} at a time, each POST /api/v1/sessions + its stream + "echo" to exit Success, over their wall time, after 2 untimed sessions per replica; keystroke: ${o.keystrokes} single bytes on one raw-tty cat session per side through the balancer, echo awaited, blocks of ${KEYSTROKE_BLOCK}`,
    figures: {
      cores,
      '1 replica sessions/s': round(rate(one)),
      '3 replicas sessions/s': round(rate(three)),
      'sessions/s ratio (3 / 1)': round(rate(three) / rate(one)),
      '1 replica keystroke p50 ms': round(p50(one), 3),
      '3 replicas keystroke p50 ms': round(p50(three), 3),
      'keystroke p50 ratio (3 / 1)': round(p50(three) / p50(one)),
      '3 replicas: sessions recorded by': [...byReplica]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([r, n]) => `${r} ${n}`)
        .join(', '),
      'sessions failed': `${failed}/${2 * timed}${failed ? ` (first: ${[...one.errors, ...three.errors][0]})` : ''}`,
    },
    targets: [
      { what: 'every session ended with Success on both sides', met: failed === 0 },
      { what: 'the 3-replica sessions spread over all three', met: byReplica.size === 3 },
    ],
    scaled: `on ${cores} cores the three replicas share the CPU with each other, PostgreSQL, RGW, HAProxy, the sandbox apiserver, runc and this client, so they cannot add capacity here: the ratios measure what spreading sessions over replicas costs (a session often created on one replica and streamed from another, three processes contending for the same cores and database), not scale-out, which needs replicas on separate nodes`,
  };
}
