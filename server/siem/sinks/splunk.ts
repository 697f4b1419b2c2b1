// Splunk's HTTP Event Collector (and the many receivers that accept its shape: Cribl, Vector,
// OpenObserve…): POST <url>/services/collector/event, `Authorization: Splunk <token>`, a body of
// concatenated event envelopes. HEC answers 200 {"text":"Success","code":0} once it accepted them;
// anything else is a failure and the batch is sent again.
import type { SiemEvent } from '../../../common/siem-event.ts';
import type { SiemSink } from '../sink.ts';
import { post } from './http-post.ts';

export const HEC_PATH = '/services/collector/event';
export const HEC_SOURCETYPE = 'audited-exec:event';

export interface SplunkSinkOptions {
  name: string;
  /** https://splunk:8088 (the HEC path is added) or the full …/services/collector/event URL */
  url: string;
  token: string;
  index?: string | undefined;
  timeoutMs: number;
  ca?: string | undefined;
}

export class SplunkSink implements SiemSink {
  readonly name: string;
  readonly #o: SplunkSinkOptions;
  readonly #url: URL;

  constructor(o: SplunkSinkOptions) {
    this.#o = o;
    this.name = o.name;
    const url = new URL(o.url);
    if (!url.pathname.endsWith(HEC_PATH)) url.pathname = url.pathname.replace(/\/$/, '') + HEC_PATH;
    this.#url = url;
  }

  async send(events: readonly string[], signal: AbortSignal): Promise<void> {
    const body = Buffer.from(events.map((e) => this.#envelope(e)).join('\n'));
    const res = await post({
      url: this.#url,
      body,
      timeoutMs: this.#o.timeoutMs,
      ca: this.#o.ca,
      signal,
      headers: { 'content-type': 'application/json', authorization: `Splunk ${this.#o.token}` },
    });
    let code: unknown;
    try {
      code = (JSON.parse(res.body) as { code?: unknown }).code;
    } catch {
      code = undefined;
    }
    if (res.status !== 200 || code !== 0) {
      throw new Error(`the HTTP Event Collector answered HTTP ${res.status}: ${res.body.slice(0, 200)}`);
    }
  }

  /** HEC's envelope: its own time (epoch seconds), host and sourcetype, the event as sent elsewhere. */
  #envelope(line: string): string {
    const e = JSON.parse(line) as SiemEvent;
    const time = Date.parse(e['@timestamp']) / 1000;
    const head = {
      time: Number.isFinite(time) ? time : undefined,
      host: e.observer.name,
      source: 'audited-exec',
      sourcetype: HEC_SOURCETYPE,
      ...(this.#o.index ? { index: this.#o.index } : {}),
    };
    return `${JSON.stringify(head).slice(0, -1)},"event":${line}}`;
  }
}
