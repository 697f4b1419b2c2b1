// The fetch openid-client makes its requests with, trusting the issuer's CA (--oidc-ca-file): Node's
// global fetch takes no CA of its own, and NODE_EXTRA_CA_CERTS would widen trust for the whole process.
import type { IncomingMessage } from 'node:http';
import { request } from 'node:https';
import type { CustomFetch } from 'openid-client';

/** Bodies from an identity provider are small (metadata, keys, tokens); more is refused. */
const MAX_BODY = 1024 * 1024;

export function fetchTrusting(caPem: string): CustomFetch {
  return (url, options) =>
    new Promise<Response>((resolve, reject) => {
      const req = request(
        url,
        { method: options.method, headers: options.headers, ca: caPem, signal: options.signal },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_BODY) req.destroy(new Error(`the answer from ${url} is over 1 MiB`));
            else chunks.push(c);
          });
          res.on('error', reject);
          res.on('end', () => resolve(responseOf(res, Buffer.concat(chunks))));
        },
      );
      req.on('error', reject);
      req.end(bodyOf(options.body));
    });
}

function responseOf(res: IncomingMessage, body: Buffer): Response {
  const headers = new Headers();
  for (const [k, v] of Object.entries(res.headers)) {
    for (const one of Array.isArray(v) ? v : v === undefined ? [] : [v]) headers.append(k, one);
  }
  const status = res.statusCode ?? 502;
  const empty = status === 204 || status === 304;
  return new Response(empty ? null : new Uint8Array(body), { status, headers });
}

function bodyOf(body: Parameters<CustomFetch>[1]['body']): string | Uint8Array | undefined {
  if (body === null || body === undefined) return undefined;
  if (typeof body === 'string' || body instanceof Uint8Array) return body;
  if (body instanceof URLSearchParams) return body.toString();
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  throw new TypeError('a streamed request body is not sent to the identity provider');
}
