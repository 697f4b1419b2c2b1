// Ships events to a recorder as a node's shim does (one `events` message on /api/v1/shim) and
// waits for the recorder's ack of the last one; an `error` answer fails it.
import WebSocket from 'ws';
import type { ServerToShim } from '../../common/shim-protocol.ts';
import type { ShimEvent } from '../../common/wire.ts';

export async function shipAsShim(
  target: { url: string; caPem: string },
  token: string,
  events: readonly ShimEvent[],
): Promise<void> {
  const ws = new WebSocket(`${target.url.replace(/^https/, 'wss')}/api/v1/shim`, {
    ca: target.caPem,
    headers: { Authorization: `Bearer ${token}` },
  });
  const last = events.at(-1)!.seq;
  try {
    await new Promise<void>((resolve, reject) => {
      ws.on('open', () => ws.send(JSON.stringify({ type: 'events', events })));
      ws.on('message', (d) => {
        const m = JSON.parse(String(d)) as ServerToShim;
        if (m.type === 'ack' && m.seq >= last) resolve();
        if (m.type === 'error') reject(new Error(m.status.message));
      });
      ws.on('error', reject);
    });
  } finally {
    ws.close();
  }
}
