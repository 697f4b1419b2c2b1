import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { Drain, QUIET_MS } from '../../../server/replicas/drain.ts';

const req = (url: string) => ({ url }) as IncomingMessage;

/** Live sessions that end when told to. */
function sessions(n: number) {
  let ends: (() => void)[] = [];
  const live = {
    size: n,
    idle: (ms: number) =>
      new Promise<boolean>((resolve) => {
        const t = setTimeout(() => resolve(live.size === 0), ms);
        ends.push(() => {
          clearTimeout(t);
          resolve(true);
        });
      }),
  };
  return {
    live,
    endAll() {
      live.size = 0;
      for (const e of ends) e();
      ends = [];
    },
  };
}

describe('drain', () => {
  it('ends at once with a drain timeout of 0, and is active from the start', async () => {
    const d = new Drain();
    const s = sessions(2);
    expect(await d.run({ timeoutMs: 0, live: s.live })).toBe(false);
    expect(d.active).toBe(true);
  });

  it('waits for the open sessions, then for the traffic to stop; probes are not traffic', async () => {
    const d = new Drain();
    const s = sessions(1);
    let done = false;
    const running = d.run({ timeoutMs: 30_000, live: s.live }).then((r) => {
      done = true;
      return r;
    });
    d.seen(req('/api/v1/sessions'));
    s.endAll();
    const endedAt = Date.now();
    // Probes keep arriving (the balancer's checks): they do not hold the replica.
    const probes = setInterval(() => d.seen(req('/readyz?verbose')), 50);
    expect(await running).toBe(true);
    clearInterval(probes);
    expect(done).toBe(true);
    expect(Date.now() - endedAt).toBeGreaterThanOrEqual(QUIET_MS - 100);
  });

  it('gives up at the timeout while a session still runs', async () => {
    const d = new Drain();
    const s = sessions(1);
    expect(await d.run({ timeoutMs: 200, live: s.live })).toBe(false);
  });
});
