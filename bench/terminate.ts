// Ending a session: how long from a moderator's POST …/terminate until the user's stream is closed
// (with the termination status on it), against the baseline of the same session ended by its own
// user (stdin closed, `cat` exits) through the same recorder in the same run. Sessions one at a time.
import { Channel } from '../common/channel.ts';
import { type Endpoint, openRecorded, postJson } from './channel-client.ts';
import type { BenchResult } from './result.ts';
import { round, summarize } from './stats.ts';

/** Each sample, after its session's output reached the user (the relay is up). */
async function session(alice: Endpoint) {
  const s = await openRecorded(alice, { command: ['cat'], tty: false, stdin: true });
  const echoed = new Promise<void>((r) => s.onOutput(() => r()));
  s.send(Channel.stdin, 'up\n');
  await echoed;
  return s;
}

export async function terminateBench(o: {
  alice: Endpoint;
  moderator: Endpoint;
  sessions: number;
}): Promise<BenchResult> {
  const ended: number[] = [];
  const terminated: number[] = [];
  const answered: number[] = [];
  for (let i = 0; i < o.sessions; i++) {
    const own = await session(o.alice);
    let t = performance.now();
    own.send(Channel.close, Buffer.from([Channel.stdin]));
    await own.closed;
    ended.push(performance.now() - t);

    const s = await session(o.alice);
    t = performance.now();
    const post = postJson<{ state?: string }>(o.moderator, `/api/v1/sessions/${s.sessionId}/terminate`, {
      reason: `bench ${i}`,
    });
    await s.closed;
    terminated.push(performance.now() - t);
    const r = await post;
    if (r.body.state !== 'terminated')
      throw new Error(`terminate answered ${r.status} ${JSON.stringify(r.body)}`);
    answered.push(performance.now() - t);
  }
  const own = summarize(ended);
  const term = summarize(terminated);
  const ans = summarize(answered);
  return {
    name: 'terminate',
    method:
      `${o.sessions} sessions (cat, no tty) one at a time: ms from POST …/terminate to the user's stream ` +
      'closed, and to the POST answered (session stored terminated), vs the same session ended by its ' +
      'user (stdin closed), both through the recorder in this run',
    figures: {
      'user end p50 ms': round(own.p50),
      'terminated p50 ms': round(term.p50),
      'terminated p99 ms': round(term.p99),
      'answered p50 ms': round(ans.p50),
      'ratio terminated/user end p50': round(term.p50 / own.p50),
    },
    targets: [{ what: 'terminated p99 under 1000 ms (the user is told at once)', met: term.p99 < 1000 }],
  };
}
