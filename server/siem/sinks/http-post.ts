// One HTTP(S) POST with a deadline, for the sinks that speak HTTP (webhook, Splunk HEC): resolves
// with the status and body, rejects on a network error or when the deadline passes.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface PostOptions {
  url: URL;
  headers: Record<string, string>;
  body: Buffer;
  timeoutMs: number;
  ca?: string | undefined;
  signal: AbortSignal;
}

export function post(o: PostOptions): Promise<{ status: number; body: string }> {
  const request = o.url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      o.url,
      {
        method: 'POST',
        headers: { ...o.headers, 'content-length': String(o.body.length) },
        ...(o.ca ? { ca: o.ca } : {}),
        // A fresh connection each time: a receiver that restarted leaves no stale pooled socket.
        agent: false,
        signal: o.signal,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => {
          if (chunks.length < 64) chunks.push(c);
        });
        res.on('end', () => {
          clearTimeout(timer);
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8').slice(0, 500),
          });
        });
        res.on('error', reject);
      },
    );
    const timer = setTimeout(
      () => req.destroy(new Error(`no answer within ${o.timeoutMs / 1000} s`)),
      o.timeoutMs,
    );
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end(o.body);
  });
}
