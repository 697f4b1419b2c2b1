// One batch over one TCP (or TLS) connection, settled exactly once: by the sink's own protocol
// (`finish()` / `finish(err)`), by the deadline, by the recorder stopping, by a socket error or by
// an early close. The syslog and RELP sinks differ only in what they write and what counts as done.
import type { Socket } from 'node:net';

export interface Exchange {
  /** Settles the batch: without an error it was delivered. Later calls do nothing. */
  finish(err?: Error): void;
}

export function exchange(o: {
  socket: Socket;
  signal: AbortSignal;
  timeoutMs: number;
  /** the sentence when the deadline passes, e.g. "the syslog receiver did not take the batch" */
  late: string;
  /** the sentence when the connection closes before the exchange finished */
  closedEarly: string;
  /** the sink's side: write once connected, read answers, call finish */
  run(x: Exchange): void;
}): Promise<void> {
  return new Promise((resolve, reject) => {
    let done = false;
    const onAbort = () => finish(new Error('the recorder is stopping'));
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      o.signal.removeEventListener('abort', onAbort);
      o.socket.destroy();
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(
      () => finish(new Error(`${o.late} within ${o.timeoutMs / 1000} s`)),
      o.timeoutMs,
    );
    o.signal.addEventListener('abort', onAbort, { once: true });
    o.socket.once('error', (err) => finish(err));
    o.run({ finish });
    o.socket.once('close', () => finish(new Error(o.closedEarly)));
  });
}
