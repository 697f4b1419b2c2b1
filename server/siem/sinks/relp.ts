// Syslog over RELP (relp://host:port; rsyslog's imrelp): the same RFC 5424 messages as syslog.ts,
// but each one acknowledged by the receiver (`rsp 200`) after it took it, so a batch counts as
// delivered only when every message of it was; a receiver that refuses or drops anything fails it.
//
// RELP frames are `TXNR SP COMMAND SP DATALEN [SP DATA] LF`. Each batch goes on a connection of its
// own: `open`, one `syslog` per event, `close`, sent together (the server answers in order).
import { connect, type Socket } from 'node:net';
import type { SiemSink } from '../sink.ts';
import { exchange } from './socket-exchange.ts';
import { rfc5424 } from './syslog.ts';

const OFFERS = 'relp_version=0\nrelp_software=audited-exec\ncommands=syslog';

/** One RELP frame. */
export function relpFrame(txnr: number, command: string, data: string): Buffer {
  const body = Buffer.from(data);
  const head = `${txnr} ${command} ${body.length}`;
  return Buffer.concat([Buffer.from(body.length ? `${head} ` : head), body, Buffer.from('\n')]);
}

/** Frames out of a byte stream: what is complete, and the rest to wait for. */
export function parseFrames(buf: Buffer): {
  frames: { txnr: number; command: string; data: string }[];
  rest: Buffer;
} {
  const frames: { txnr: number; command: string; data: string }[] = [];
  let at = 0;
  for (;;) {
    const m = /^(\d+) ([a-z]+) (\d+)/.exec(buf.subarray(at, at + 64).toString('latin1'));
    if (!m) break;
    const len = Number(m[3]);
    const start = at + m[0].length + (len > 0 ? 1 : 0);
    if (buf.length < start + len + 1) break;
    frames.push({
      txnr: Number(m[1]),
      command: m[2]!,
      data: buf.subarray(start, start + len).toString('utf8'),
    });
    at = start + len + 1;
  }
  return { frames, rest: buf.subarray(at) };
}

export interface RelpSinkOptions {
  name: string;
  /** relp://host:port */
  url: string;
  timeoutMs: number;
}

export class RelpSink implements SiemSink {
  readonly name: string;
  readonly #o: RelpSinkOptions;
  readonly #url: URL;

  constructor(o: RelpSinkOptions) {
    this.#o = o;
    this.name = o.name;
    this.#url = new URL(o.url);
  }

  send(events: readonly string[], signal: AbortSignal): Promise<void> {
    const frames = [
      relpFrame(1, 'open', OFFERS),
      ...events.map((e, i) => relpFrame(i + 2, 'syslog', rfc5424(e))),
      relpFrame(events.length + 2, 'close', ''),
    ];
    const last = events.length + 1;
    const socket: Socket = connect({
      host: this.#url.hostname.replace(/^\[|\]$/g, ''),
      port: Number(this.#url.port),
    });
    return exchange({
      socket,
      signal,
      timeoutMs: this.#o.timeoutMs,
      late: 'the RELP receiver did not acknowledge the batch',
      closedEarly: 'the RELP connection closed before every message was acknowledged',
      run: ({ finish }) => {
        let pending: Buffer = Buffer.alloc(0);
        let acked = 0;
        socket.once('connect', () => socket.write(Buffer.concat(frames)));
        socket.on('data', (chunk: Buffer) => {
          const { frames: answers, rest } = parseFrames(Buffer.concat([pending, chunk]));
          pending = rest;
          for (const a of answers) {
            if (a.command === 'serverclose') return finish(new Error('the RELP receiver closed the session'));
            if (a.command !== 'rsp' || a.txnr < 1 || a.txnr > last) continue;
            if (!a.data.startsWith('200')) {
              return finish(
                new Error(`the RELP receiver refused message ${a.txnr}: ${a.data.split('\n')[0]}`),
              );
            }
            // Answers come in order: the open's, then each message's.
            acked = Math.max(acked, a.txnr);
            if (acked === last) return finish();
          }
        });
      },
    });
  }
}
