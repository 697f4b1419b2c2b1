// One HTTP(S) request with a deadline. Callers map failures to sentences; this file only moves bytes.
import http from 'node:http';
import https from 'node:https';

export interface TlsOptions {
  ca?: string | Buffer;
  cert?: Buffer;
  key?: Buffer;
  rejectUnauthorized?: boolean;
  servername?: string;
}

export interface HttpRequest {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  tls?: TlsOptions;
  /** whole-request deadline; the error then has code ETIMEDOUT */
  timeoutMs?: number;
}

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export function httpRequest(req: HttpRequest): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    // reject stays wired to the request until the body has ended, so a deadline hit mid-body
    // still rejects with ETIMEDOUT rather than a bare "aborted"
    start(req, reject, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
      res.on('error', reject);
    });
  });
}

/** The response with its body unread: for bodies too big or too binary to hold as a string. */
export function httpStream(req: HttpRequest): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => start(req, reject, resolve));
}

function start(
  req: HttpRequest,
  onError: (err: Error) => void,
  onResponse: (res: http.IncomingMessage) => void,
): void {
  const url = new URL(req.url);
  const lib = url.protocol === 'https:' ? https : http;
  const headers: Record<string, string> = { Accept: 'application/json', ...req.headers };
  if (req.body !== undefined) {
    headers['Content-Type'] ??= 'application/json';
    headers['Content-Length'] = String(Buffer.byteLength(req.body));
  }
  const r = lib.request(url, { method: req.method ?? 'GET', headers, ...req.tls }, onResponse);
  r.setTimeout(req.timeoutMs ?? 30_000, () => {
    r.destroy(
      Object.assign(new Error(`no answer within ${(req.timeoutMs ?? 30_000) / 1000}s`), {
        code: 'ETIMEDOUT',
      }),
    );
  });
  r.on('error', onError);
  r.end(req.body);
}
