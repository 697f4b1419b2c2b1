// GET /ui/sessions/{id}/live: the running session's recording as Server-Sent Events for the
// player's `eventsource` driver. Tails the .cast file the recorder appends to (no hook into the
// relay), so what a live viewer sees is exactly what was recorded.
import type { ServerResponse } from 'node:http';
import type { SessionRecord } from '../../common/wire.ts';
import { tailLines } from './cast-tail.ts';
import { isLive } from './format.ts';
import { LiveCast, sseMessage } from './live-stream.ts';
import { SECURITY_HEADERS } from './security.ts';

export interface LiveOptions {
  path: string;
  tty: boolean;
  getSession: () => Promise<SessionRecord | undefined>;
  /** closes when the viewer goes away */
  signal: AbortSignal;
  pollMs?: number;
  /** comment lines keep proxies from closing an idle stream */
  keepAliveMs?: number;
  /** Asked every recheckMs: may the viewer still watch? No (or an error) ends the stream. */
  allowed?: () => Promise<boolean>;
  recheckMs?: number;
}

export async function streamLive(res: ServerResponse, o: LiveOptions): Promise<void> {
  res.writeHead(200, {
    ...SECURITY_HEADERS,
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-store',
    'X-Accel-Buffering': 'no',
  });
  res.flushHeaders();
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), o.keepAliveMs ?? 15_000);
  // The store is asked at most once a second whether the session is still running.
  let checkedAt = 0;
  let allowedAt = Date.now();
  let done = false;
  let refused = false;
  const isDone = async () => {
    if (done || Date.now() - checkedAt < 1000) return done;
    checkedAt = Date.now();
    // A live session can outlast the viewer's right to see it (token revoked, RBAC changed).
    if (o.allowed && checkedAt - allowedAt >= (o.recheckMs ?? 60_000)) {
      allowedAt = checkedAt;
      refused = !(await o.allowed().catch(() => false));
      if (refused) {
        done = true;
        return true;
      }
    }
    const s = await o.getSession();
    done = !s || !isLive(s);
    return done;
  };
  const cast = new LiveCast({ tty: o.tty });
  let started = false;
  const startIfReady = () => {
    if (!started && cast.header) {
      res.write(sseMessage(cast.reset()));
      started = true;
    }
  };
  try {
    for await (const line of tailLines({ path: o.path, signal: o.signal, isDone, pollMs: o.pollMs ?? 150 })) {
      // Backlog is folded into one reset frame; after that, every event goes out as it lands.
      if (line === null) {
        startIfReady();
        continue;
      }
      const event = cast.line(line);
      if (started && event) res.write(sseMessage(event));
    }
    if (refused) return; // no 'done': the player's reconnect meets the sign-in check
    startIfReady();
    if (!o.signal.aborted) res.write(sseMessage(null, 'done'));
  } finally {
    clearInterval(keepAlive);
    res.end();
  }
}
