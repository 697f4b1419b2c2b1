// Syslog over TCP (tcp://host:port) or TLS (tls://host:port, RFC 5425): each event one RFC 5424
// message whose MSG is the event's JSON, framed by octet counting (RFC 6587 3.4.1: "<length> <msg>"),
// which survives newlines and needs no escaping.
//
// Plain syslog has no acknowledgement. So each batch goes on a connection of its own: the messages
// are written, our side is closed, and the batch counts as delivered only once the receiver has read
// to that end and closed its side too (rsyslog, syslog-ng and Fluent Bit close a connection the
// sender closed after reading it). A receiver that dies before reading it all, resets or says
// nothing within the timeout fails the batch, which is sent again (the receiver de-duplicates by id).
import { isIP, type Socket, connect as tcpConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { SiemEvent } from '../../../common/siem-event.ts';
import type { SiemSink } from '../sink.ts';
import { exchange } from './socket-exchange.ts';

/** RFC 5424 facility 13, "log audit". */
const FACILITY = 13;
const SEVERITY = { notice: 5, warning: 4 } as const;
/** The structured-data id: 32473 is the private enterprise number RFC 5612 reserves for examples. */
export const SD_ID = 'audited-exec@32473';

/** One RFC 5424 message for an event (the JSON text as it was spooled). */
export function rfc5424(line: string): string {
  const e = JSON.parse(line) as SiemEvent;
  const pri = FACILITY * 8 + (e.event.kind === 'alert' ? SEVERITY.warning : SEVERITY.notice);
  const host = printable(e.observer.name, 255);
  const sd = `[${SD_ID} id="${sdValue(e.id)}" type="${sdValue(e.type)}"${
    e.audited_exec.session_id ? ` session="${sdValue(e.audited_exec.session_id)}"` : ''
  }]`;
  return `<${pri}>1 ${e['@timestamp']} ${host} audited-exec - ${printable(e.type, 32)} ${sd} ${line}`;
}

/** RFC 6587 octet counting: the message's length in bytes, a space, the message. */
export function octetCounted(message: string): string {
  return `${Buffer.byteLength(message)} ${message}`;
}

function printable(s: string, max: number): string {
  const t = s.replace(/[^\x21-\x7e]/g, '_').slice(0, max);
  return t || '-';
}

/** RFC 5424 6.3.3: '"', '\' and ']' are escaped in a PARAM-VALUE. */
function sdValue(s: string): string {
  return s.replace(/["\\\]]/g, (c) => `\\${c}`);
}

export interface SyslogSinkOptions {
  name: string;
  /** tcp://host:port or tls://host:port */
  url: string;
  timeoutMs: number;
  ca?: string | undefined;
  /** PEM certificate and key, for a receiver that authenticates its senders */
  clientCert?: { cert: string; key: string } | undefined;
}

export class SyslogSink implements SiemSink {
  readonly name: string;
  readonly #o: SyslogSinkOptions;
  readonly #url: URL;

  constructor(o: SyslogSinkOptions) {
    this.#o = o;
    this.name = o.name;
    this.#url = new URL(o.url);
  }

  send(events: readonly string[], signal: AbortSignal): Promise<void> {
    const data = events.map((e) => octetCounted(rfc5424(e))).join('');
    const socket = this.#connect();
    return exchange({
      socket,
      signal,
      timeoutMs: this.#o.timeoutMs,
      late: 'the syslog receiver did not take the batch',
      closedEarly: 'the syslog connection closed before the receiver finished',
      run: ({ finish }) => {
        let ended = false;
        socket.once(this.#url.protocol === 'tls:' ? 'secureConnect' : 'connect', () => {
          socket.end(data, () => {
            ended = true;
          });
        });
        socket.on('data', () => {}); // a receiver that talks back must not stall us
        // The receiver closed its side after reading ours to the end: it has every message.
        socket.once('end', () =>
          finish(
            ended
              ? undefined
              : new Error('the syslog receiver closed the connection before reading the batch'),
          ),
        );
      },
    });
  }

  #connect(): Socket {
    const host = this.#url.hostname.replace(/^\[|\]$/g, '');
    const port = Number(this.#url.port);
    if (this.#url.protocol === 'tls:') {
      return tlsConnect({
        host,
        port,
        // SNI takes a name, never an address (RFC 6066); the certificate is checked against either.
        ...(isIP(host) ? {} : { servername: host }),
        ...(this.#o.ca ? { ca: this.#o.ca } : {}),
        ...(this.#o.clientCert ?? {}),
      });
    }
    return tcpConnect({ host, port });
  }
}
