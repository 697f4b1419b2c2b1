// The recorder's HTTP API as the plugin uses it, and the mapping of every failure to one sentence a
// kubectl user understands (what went wrong and what to do).
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { pipeline } from 'node:stream/promises';
import WebSocket from 'ws';
import { SUBPROTOCOLS } from '../common/channel.ts';
import { type ErrorCode, errorCodeOf } from '../common/error-codes.ts';
import { AuditedExecError, errorMessage } from '../common/errors.ts';
import type { Status } from '../common/status.ts';
import type {
  SessionCreateRequest,
  SessionCreateResponse,
  SessionEventList,
  SessionList,
  SessionQuery,
  SessionRecord,
  SessionTerminateRequest,
} from '../common/wire.ts';
import { type HttpResponse, httpRequest, httpStream, type TlsOptions } from './http.ts';
import { bufferedSocket, type ChannelSocket } from './stream.ts';

export interface RecorderClientOptions {
  /** base URL, no trailing slash */
  url: string;
  /** Authorization and the like, from the kubeconfig */
  headers: Record<string, string>;
  tls: TlsOptions;
  timeoutMs?: number;
}

export interface DownloadOptions {
  /** the Accept header; default application/octet-stream */
  accept?: string;
  /** the byte count so far, after every chunk */
  onBytes?: (n: number) => void;
}

// A bundle is signed when asked for, one session at a time, so the first byte can be a while coming.
const DOWNLOAD_TIMEOUT_MS = 60_000;

export class RecorderClient {
  readonly url: string;
  readonly #opts: RecorderClientOptions;

  constructor(opts: RecorderClientOptions) {
    this.#opts = { timeoutMs: 30_000, ...opts };
    this.url = opts.url;
  }

  /**
   * A replica that is shutting down (REPLICA_DRAINING) closes the connection with its refusal, so
   * asking again reaches another replica through the Service: the user never sees a rolling update.
   */
  async createSession(req: SessionCreateRequest): Promise<SessionCreateResponse> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#json('POST', '/api/v1/sessions', req);
      } catch (err) {
        if ((err as AuditedExecError).code !== 'REPLICA_DRAINING' || attempt >= DRAINING_RETRIES) throw err;
        await new Promise((r) => setTimeout(r, 100 * attempt));
      }
    }
  }

  listSessions(query: SessionQuery): Promise<SessionList> {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') params.set(k, String(v));
    const qs = params.toString();
    return this.#json('GET', `/api/v1/sessions${qs ? `?${qs}` : ''}`);
  }

  /** Every page, following `continue`. */
  async *allSessions(query: SessionQuery): AsyncGenerator<SessionRecord> {
    let cursor: string | undefined;
    do {
      const page = await this.listSessions({ ...query, ...(cursor ? { continue: cursor } : {}) });
      yield* page.items;
      cursor = page.continue;
    } while (cursor);
  }

  /** Every page of a session's attributed commands and alerts, following `continue`. */
  async *allEvents(id: string): AsyncGenerator<SessionEventList['items'][number]> {
    let cursor: string | undefined;
    do {
      const qs = cursor ? `?continue=${encodeURIComponent(cursor)}` : '';
      const page = await this.#json<SessionEventList>(
        'GET',
        `/api/v1/sessions/${encodeURIComponent(id)}/events${qs}`,
      );
      yield* page.items;
      cursor = page.continue;
    } while (cursor);
  }

  /** Ends someone's running session (needs terminate on sessions.audited-exec.io); the ended record. */
  terminateSession(id: string, reason: string): Promise<SessionRecord> {
    const body: SessionTerminateRequest = { reason };
    return this.#json('POST', `/api/v1/sessions/${encodeURIComponent(id)}/terminate`, body);
  }

  getSession(id: string): Promise<SessionRecord> {
    return this.#json('GET', `/api/v1/sessions/${encodeURIComponent(id)}`);
  }

  async getRecording(id: string): Promise<string> {
    const res = await this.#send('GET', `/api/v1/sessions/${encodeURIComponent(id)}/recording`);
    return res.body;
  }

  /** GET `path` as text (any 2xx), for answers the caller parses itself. */
  async getText(path: string): Promise<string> {
    return (await this.#send('GET', path)).body;
  }

  /**
   * GET `path`, streaming the body into `file` via a temp file, so an interrupted download never
   * leaves a plausible-looking file behind. Resolves to the byte count.
   */
  async download(path: string, file: string, opts: DownloadOptions = {}): Promise<number> {
    const res = await this.#open(path, opts.accept ?? 'application/octet-stream');
    const tmp = `${file}.part`;
    let n = 0;
    res.on('data', (c: Buffer) => {
      n += c.length;
      opts.onBytes?.(n);
    });
    try {
      await pipeline(res, createWriteStream(tmp, { mode: 0o600 }));
      await rename(tmp, file);
    } catch (err) {
      await rm(tmp, { force: true });
      throw errorFromNetwork(err, this.url);
    }
    return n;
  }

  /** Opens the session's channel stream; resolves once the WebSocket is open. */
  openStream(streamPath: string): Promise<ChannelSocket> {
    const url = this.url.replace(/^http/, 'ws') + streamPath;
    const ws = new WebSocket(url, [...SUBPROTOCOLS], { headers: this.#opts.headers, ...this.#opts.tls });
    const socket = bufferedSocket(ws);
    return new Promise((resolve, reject) => {
      // Our own timer rather than ws's handshakeTimeout, whose error says so only in words.
      const timer = setTimeout(() => {
        reject(errorFromNetwork(Object.assign(new Error('no answer'), { code: 'ETIMEDOUT' }), this.url));
        ws.terminate();
      }, this.#opts.timeoutMs ?? 30_000);
      const onError = (err: Error) => {
        clearTimeout(timer);
        reject(errorFromNetwork(err, this.url));
      };
      ws.once('open', () => {
        clearTimeout(timer);
        ws.off('error', onError);
        resolve(socket);
      });
      ws.once('unexpected-response', (req, res) => {
        clearTimeout(timer);
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          req.destroy();
          reject(errorFromResponse(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'), this.url));
        });
      });
      ws.once('error', onError);
    });
  }

  async #json<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const res = await this.#send(method, path, body);
    try {
      return JSON.parse(res.body) as T;
    } catch {
      throw new AuditedExecError(
        'BAD_RESPONSE',
        `the audited-exec recorder at ${this.url} sent an answer that is not JSON (HTTP ${res.status}); is --server the recorder?`,
      );
    }
  }

  async #send(method: 'GET' | 'POST', path: string, body?: unknown): Promise<HttpResponse> {
    let res: HttpResponse;
    try {
      res = await httpRequest({
        url: this.url + path,
        method,
        headers: this.#opts.headers,
        tls: this.#opts.tls,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        ...(this.#opts.timeoutMs ? { timeoutMs: this.#opts.timeoutMs } : {}),
      });
    } catch (err) {
      throw errorFromNetwork(err, this.url);
    }
    if (res.status >= 200 && res.status < 300) return res;
    throw errorFromResponse(res.status, res.body, this.url);
  }

  async #open(path: string, accept: string): Promise<IncomingMessage> {
    let res: IncomingMessage;
    try {
      res = await httpStream({
        url: this.url + path,
        headers: { Accept: accept, ...this.#opts.headers },
        tls: this.#opts.tls,
        timeoutMs: DOWNLOAD_TIMEOUT_MS,
      });
    } catch (err) {
      throw errorFromNetwork(err, this.url);
    }
    const status = res.statusCode ?? 0;
    if (status >= 200 && status < 300) return res;
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    throw errorFromResponse(status, Buffer.concat(chunks).toString('utf8'), this.url);
  }
}

/** Asks for a session this often while replicas answer that they are shutting down (~4.5 s in all). */
const DRAINING_RETRIES = 10;

const UNREACHABLE: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'no such host',
  EAI_AGAIN: 'the host name could not be resolved',
  ETIMEDOUT: 'no answer in time',
  ECONNRESET: 'the connection was reset',
  EHOSTUNREACH: 'no route to host',
  ENETUNREACH: 'network unreachable',
  EPIPE: 'the connection was closed',
};

/** A failed connection (refused, unknown host, timeout, TLS) as one sentence. */
export function errorFromNetwork(err: unknown, server: string): AuditedExecError {
  if (err instanceof AuditedExecError) return err;
  const code = (err as { code?: string } | null)?.code ?? '';
  if (code in UNREACHABLE) {
    return new AuditedExecError(
      'UNREACHABLE',
      `cannot reach the audited-exec recorder at ${server}: ${UNREACHABLE[code] ?? errorMessage(err)}; ` +
        'check --server or the audited-exec-plugin ConfigMap',
      { cause: err },
    );
  }
  // Node names every certificate failure by an OpenSSL or ERR_TLS_/ERR_SSL_ code.
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|SSL/.test(code)) {
    return new AuditedExecError(
      'TLS',
      `cannot verify the certificate of the audited-exec recorder at ${server} (${errorMessage(err)}); ` +
        'pass --server-ca FILE or set AUDITED_EXEC_SERVER_CA',
      { cause: err },
    );
  }
  return new AuditedExecError(
    'UNREACHABLE',
    `cannot talk to the audited-exec recorder at ${server}: ${errorMessage(err)}; check --server or the audited-exec-plugin ConfigMap`,
    { cause: err },
  );
}

/** What the plugin tells the user for a refusal code it knows better than the server's sentence. */
const NEEDS_FLAG: Partial<Record<ErrorCode, string>> = {
  POLICY_REASON_REQUIRED: '--reason "why you need this session"',
  POLICY_TICKET_REQUIRED: '--ticket ID',
};

/**
 * A non-2xx answer (a Status object, ideally) as one sentence, kubectl-style. The error's code is
 * the refusal code the recorder sent (common/error-codes.ts); an answer without one (a proxy, an
 * older recorder) gets a code from its HTTP status. Never decided by the wording of the message.
 */
export function errorFromResponse(httpCode: number, body: string, server: string): AuditedExecError {
  const status = parseStatus(body);
  const message = status?.message?.trim() || body.trim().slice(0, 300) || `HTTP ${httpCode}`;
  const code = errorCodeOf(status) ?? codeForHttp(httpCode);
  if (httpCode === 401) {
    return new AuditedExecError(
      code,
      `You must be logged in to the server (Unauthorized): the audited-exec recorder at ${server} ` +
        `did not accept your kubeconfig credentials (${message})`,
    );
  }
  const flag = NEEDS_FLAG[code as ErrorCode];
  if (flag) return new AuditedExecError(code, `this namespace requires ${flag}: ${message}`);
  const label =
    status?.reason || (httpCode === 403 ? 'Forbidden' : httpCode === 404 ? 'NotFound' : `HTTP ${httpCode}`);
  return new AuditedExecError(code, `Error from server (${label}): ${message}`);
}

/** For answers without a refusal code: what their HTTP status alone says. */
function codeForHttp(httpCode: number): string {
  if (httpCode === 401) return 'UNAUTHENTICATED';
  if (httpCode === 403) return 'FORBIDDEN';
  if (httpCode === 404) return 'NOT_FOUND';
  return httpCode >= 500 ? 'SERVER_ERROR' : 'REQUEST_REFUSED';
}

function parseStatus(body: string): Partial<Status> | null {
  try {
    const v = JSON.parse(body) as unknown;
    return typeof v === 'object' && v !== null ? (v as Partial<Status>) : null;
  } catch {
    return null;
  }
}
