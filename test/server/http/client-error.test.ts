// Requests Node's HTTP parser refuses get an HTTP answer (Status JSON), not a reset; the router
// caps query strings and runs guards after authentication, before the handler.
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerClientError, clientErrorCode } from '../../../server/http/client-error.ts';
import { HttpError, sendJson } from '../../../server/http/respond.ts';
import { Router } from '../../../server/http/router.ts';

/** Sends raw bytes, returns everything the server wrote before closing. */
function raw(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.write(text));
    let out = '';
    s.on('data', (c) => {
      out += c;
    });
    s.on('error', reject);
    s.on('close', () => resolve(out));
  });
}

describe('clientError answers', () => {
  let server: Server;
  let port: number;
  let handled = 0;
  beforeAll(async () => {
    const router = new Router({
      authenticator: {
        authenticate: async (req) =>
          req.headers.authorization === 'Bearer ok'
            ? { username: 'alice', groups: [], method: 'token' }
            : null,
      },
    });
    router.get('/open', (ctx) => sendJson(ctx.res, 200, { ok: true }), { auth: false });
    router.post('/guarded', (ctx) => {
      handled++;
      sendJson(ctx.res, 201, {});
    });
    router.guard('POST', '/guarded', () => {
      throw new HttpError(507, 'STORE_DISK_FULL', "the recorder's disk is full");
    });
    server = createServer((req, res) => void router.handle(req, res));
    server.on('clientError', answerClientError);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('maps parser errors as Node does', () => {
    expect(clientErrorCode(Object.assign(new Error(), { code: 'HPE_HEADER_OVERFLOW' }))).toBe(431);
    expect(clientErrorCode(Object.assign(new Error(), { code: 'HPE_INVALID_METHOD' }))).toBe(400);
  });

  it('answers a request line over the 16 KiB header limit with 431 and a Status body', async () => {
    const out = await raw(port, `GET /open?q=${'a'.repeat(20 * 1024)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(out).toMatch(/^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
    expect(JSON.parse(out.slice(out.indexOf('\r\n\r\n') + 4))).toMatchObject({ kind: 'Status', code: 431 });
  });

  it('answers garbage with 400', async () => {
    expect(await raw(port, 'NOT HTTP AT ALL\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
  });

  it('refuses a query string over 8 KiB with 414', async () => {
    const out = await raw(
      port,
      `GET /open?q=${'a'.repeat(9000)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    );
    expect(out).toMatch(/^HTTP\/1\.1 414 /);
  });

  it('runs a guard after authentication and before the handler', async () => {
    const post = (auth: string) =>
      raw(
        port,
        `POST /guarded HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
      );
    expect(await post('Bearer bad')).toMatch(/^HTTP\/1\.1 401 /);
    const out = await post('Bearer ok');
    expect(out).toMatch(/^HTTP\/1\.1 507 Insufficient Storage/);
    expect(out).toContain("the recorder's disk is full");
    expect(handled).toBe(0);
  });
});
