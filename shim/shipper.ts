// Ships ShimEvents to the recorder.
//
// Protocol (WebSocket `/api/v1/shim`, JSON text frames; types in common/shim-protocol.ts):
// - The shim connects with `Authorization: Bearer <projected service-account token>`; the token
//   file is re-read on every connect (kubelet rotates it). The server takes the node name from the
//   token (TokenReview extra `authentication.kubernetes.io/node-name`) and refuses other nodes.
// - shim → server `{type:'events', events:[ShimEvent…]}`; each event has a `seq` that increases by
//   one per event for the life of the spool (it survives restarts).
// - server → shim `{type:'ack', seq}`: every event ≤ seq is stored. The server ignores events with
//   seq ≤ its highest stored one and stores idempotently on (node, bootId, auditSerial, auditTime).
// - server → shim `{type:'expect-exec', session, containerId, time}` (InferredExecHint).
// - After a reconnect the shim resends everything after the last ack, from the disk spool.
// Reconnects back off exponentially (with jitter) up to maxBackoffMs. While the server is away the
// events wait on disk, not in memory.

import { readFile } from 'node:fs/promises';
import WebSocket from 'ws';
import type { ServerToShim } from '../common/shim-protocol.ts';
import type { InferredExecHint, ShimEvent } from '../common/wire.ts';
import { Spool } from './spool.ts';

export interface ShipperOptions {
  /** ws:// or wss:// URL of /api/v1/shim */
  url: string;
  tokenFile: string;
  spoolDir: string;
  ca?: Buffer | null;
  onHint?: (hint: InferredExecHint) => void;
  log?: (fields: Record<string, unknown>) => void;
  batchSize?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

export class Shipper {
  readonly #opts: Required<Pick<ShipperOptions, 'batchSize' | 'minBackoffMs' | 'maxBackoffMs'>> &
    ShipperOptions;
  readonly #spool: Spool;
  #ws: WebSocket | null = null;
  #open = false;
  #sent = 0;
  #stopped = false;
  #backoff: number;
  #timer: NodeJS.Timeout | null = null;
  #pumping = false;
  #ackWaiters: { seq: number; resolve: () => void }[] = [];

  constructor(options: ShipperOptions) {
    this.#opts = { batchSize: 500, minBackoffMs: 200, maxBackoffMs: 30_000, ...options };
    this.#backoff = this.#opts.minBackoffMs;
    this.#spool = new Spool({ dir: options.spoolDir });
  }

  get acked(): number {
    return this.#spool.acked;
  }

  get pending(): number {
    return this.#spool.pending;
  }

  get connected(): boolean {
    return this.#open;
  }

  start(): void {
    this.#stopped = false;
    void this.#connect();
  }

  /** Spools the events (durable once this returns) and sends them when connected. */
  enqueue(events: Omit<ShimEvent, 'seq'>[]): ShimEvent[] {
    const out = this.#spool.append(events);
    this.#pump();
    return out;
  }

  /** Resolves once everything enqueued so far is acked. */
  drained(): Promise<void> {
    const seq = this.#spool.lastSeq;
    if (this.#spool.acked >= seq) return Promise.resolve();
    return new Promise((resolve) => this.#ackWaiters.push({ seq, resolve }));
  }

  stop(): void {
    this.#stopped = true;
    this.#spool.flush();
    if (this.#timer) clearTimeout(this.#timer);
    this.#ws?.close(1000);
    this.#ws = null;
    this.#open = false;
  }

  async #connect(): Promise<void> {
    if (this.#stopped) return;
    let token: string;
    try {
      token = (await readFile(this.#opts.tokenFile, 'utf8')).trim();
    } catch (err) {
      this.#opts.log?.({
        level: 'error',
        msg: 'cannot read the service-account token',
        file: this.#opts.tokenFile,
        err: String(err),
      });
      this.#retry();
      return;
    }
    const ws = new WebSocket(this.#opts.url, {
      headers: { Authorization: `Bearer ${token}` },
      // An all-zero mask, which ws skips: masking guards browsers' intermediaries against cache
      // poisoning, not a node agent on TLS, and XOR-ing every byte of every batch is pure cost.
      generateMask: (mask: Buffer) => void mask.fill(0),
      ...(this.#opts.ca ? { ca: this.#opts.ca } : {}),
    });
    this.#ws = ws;
    ws.on('open', () => {
      this.#open = true;
      this.#backoff = this.#opts.minBackoffMs;
      this.#sent = this.#spool.acked; // resend everything not acked
      this.#opts.log?.({ level: 'info', msg: 'connected to recorder', pending: this.#spool.pending });
      this.#pump();
    });
    ws.on('message', (data) => this.#onMessage(String(data)));
    ws.on('error', (err) =>
      this.#opts.log?.({ level: 'warn', msg: 'recorder connection error', err: err.message }),
    );
    ws.on('close', () => {
      if (this.#ws !== ws) return;
      this.#open = false;
      this.#ws = null;
      this.#retry();
    });
  }

  #retry(): void {
    if (this.#stopped) return;
    const delay = this.#backoff * (0.5 + Math.random() / 2);
    this.#backoff = Math.min(this.#backoff * 2, this.#opts.maxBackoffMs);
    this.#timer = setTimeout(() => void this.#connect(), delay);
  }

  #onMessage(text: string): void {
    let msg: ServerToShim;
    try {
      msg = JSON.parse(text) as ServerToShim;
    } catch {
      this.#opts.log?.({ level: 'warn', msg: 'recorder sent a non-JSON message' });
      return;
    }
    if (msg.type === 'ack' && Number.isInteger(msg.seq)) {
      this.#spool.ack(msg.seq);
      this.#ackWaiters = this.#ackWaiters.filter((w) => {
        if (w.seq > this.#spool.acked) return true;
        w.resolve();
        return false;
      });
      this.#pump();
    } else if (msg.type === 'expect-exec') {
      this.#opts.onHint?.(msg);
    } else if (msg.type === 'error') {
      // The recorder refused a message and closes; the events stay spooled for the next try.
      this.#opts.log?.({ level: 'error', msg: 'recorder refused events', status: msg.status?.message });
    }
  }

  /** Sends spooled events after the last sent seq, in batches, while the socket keeps up. */
  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.#open && this.#ws && this.#sent < this.#spool.lastSeq) {
        // Bounded in flight: a slow server must not make the shim hold the whole spool in RAM.
        if (this.#ws.bufferedAmount > 4 << 20) {
          setTimeout(() => this.#pump(), 50);
          break;
        }
        const { json, lastSeq } = this.#spool.readJson(this.#sent, this.#opts.batchSize);
        if (json.length === 0) break;
        // A ShimEventsMessage, built from the spool's JSON lines rather than re-serialised.
        this.#ws.send(`{"type":"events","events":[${json.join(',')}]}`);
        this.#sent = lastSeq;
      }
    } finally {
      this.#pumping = false;
    }
  }
}
