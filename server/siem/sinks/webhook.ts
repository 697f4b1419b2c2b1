// A generic HTTPS webhook: each batch is POSTed as a JSON array of events, signed with
// HMAC-SHA256 so the receiver knows it comes from the recorder and was not replayed:
//
//   X-Audited-Exec-Timestamp: <unix seconds when sent>
//   X-Audited-Exec-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>
//
// (the scheme Stripe and Slack use). A 2xx answer acknowledges the batch; anything else is a
// failure and the batch is sent again, freshly timestamped and signed. deploy/README.md shows the
// check on the receiver's side.
import { createHmac } from 'node:crypto';
import type { SiemSink } from '../sink.ts';
import { post } from './http-post.ts';

export const TIMESTAMP_HEADER = 'x-audited-exec-timestamp';
export const SIGNATURE_HEADER = 'x-audited-exec-signature';

/** The signature header's value for a body sent at `timestamp` (unix seconds). */
export function webhookSignature(secret: string, timestamp: string, body: Buffer | string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex')}`;
}

export interface WebhookSinkOptions {
  name: string;
  url: string;
  secret: string;
  timeoutMs: number;
  ca?: string | undefined;
  /** unix seconds now; default the wall clock */
  now?: () => number;
}

export class WebhookSink implements SiemSink {
  readonly name: string;
  readonly #o: WebhookSinkOptions;
  readonly #url: URL;

  constructor(o: WebhookSinkOptions) {
    this.#o = o;
    this.name = o.name;
    this.#url = new URL(o.url);
  }

  async send(events: readonly string[], signal: AbortSignal): Promise<void> {
    const body = Buffer.from(`[${events.join(',')}]`);
    const timestamp = String(Math.floor(this.#o.now?.() ?? Date.now() / 1000));
    const res = await post({
      url: this.#url,
      body,
      timeoutMs: this.#o.timeoutMs,
      ca: this.#o.ca,
      signal,
      headers: {
        'content-type': 'application/json',
        [TIMESTAMP_HEADER]: timestamp,
        [SIGNATURE_HEADER]: webhookSignature(this.#o.secret, timestamp, body),
      },
    });
    if (res.status < 200 || res.status > 299) {
      throw new Error(
        `the webhook answered HTTP ${res.status}${res.body ? `: ${res.body.slice(0, 200)}` : ''}`,
      );
    }
  }
}
