// SIGTERM on one replica of several (a rolling update): it stops taking new sessions (readiness
// false, REPLICA_DRAINING), lets the open ones run to their end, and keeps answering until the
// balancer has stopped sending it requests (a Service's endpoints, HAProxy's check: no request but
// probes for QUIET_MS), so nobody meets a closed port. Both within the drain timeout.
import type { IncomingMessage } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

/** No request but probes for this long: the balancer has taken this replica out. Longer than a
 *  readiness probe takes to fail (deploy: periodSeconds 1 × failureThreshold 2) plus the time the
 *  endpoints take to follow. */
export const QUIET_MS = 3000;
const PROBES = new Set(['/readyz', '/healthz']);

export class Drain {
  #active = false;
  #lastTraffic = Date.now();

  get active(): boolean {
    return this.#active;
  }

  /** Every request and upgrade that reaches the server (probes do not count as traffic). */
  seen(req: IncomingMessage): void {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (!PROBES.has(path)) this.#lastTraffic = Date.now();
  }

  /**
   * Begins draining; resolves once no session is live and the traffic has stopped, or at the
   * timeout (0: at once). True when it ended in time.
   */
  async run(o: {
    timeoutMs: number;
    live: { size: number; idle(ms: number): Promise<boolean> };
  }): Promise<boolean> {
    this.#active = true;
    const deadline = Date.now() + o.timeoutMs;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) return o.live.size === 0;
      if (o.live.size > 0) {
        await o.live.idle(left);
        continue;
      }
      const quietFor = Date.now() - this.#lastTraffic;
      if (quietFor >= QUIET_MS) return true;
      await sleep(Math.min(left, QUIET_MS - quietFor));
    }
  }
}
