import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failureStatus } from '../../common/status.ts';
import { errorFromNetwork, errorFromResponse, RecorderClient } from '../../plugin/client.ts';
import { codedStatus } from '../../server/http/respond.ts';

const SERVER = 'https://recorder.example:8443';

/** A refusal as the recorder words it on the wire (its code in details.causes). */
function coded(http: number, code: string, message: string): string {
  return JSON.stringify(codedStatus(http, code, message));
}

describe('errorFromResponse', () => {
  it('keeps the apiserver reason for forbidden, kubectl-style', () => {
    const body = JSON.stringify(
      failureStatus(
        403,
        'pods "web" is forbidden: User "bob" cannot get resource "pods/exec" in API group "" in the namespace "default"',
      ),
    );
    const e = errorFromResponse(403, body, SERVER);
    expect(e.code).toBe('FORBIDDEN');
    expect(e.message).toBe(
      'Error from server (Forbidden): pods "web" is forbidden: User "bob" cannot get resource "pods/exec" in API group "" in the namespace "default"',
    );
  });

  it('names a missing pod by the code the recorder sent', () => {
    const e = errorFromResponse(404, coded(404, 'POD_NOT_FOUND', 'pods "nope" not found'), SERVER);
    expect(e).toMatchObject({
      code: 'POD_NOT_FOUND',
      message: 'Error from server (NotFound): pods "nope" not found',
    });
    // Without the code it is any 404, whatever the sentence names.
    const uncoded = JSON.stringify(failureStatus(404, 'pods "nope" not found'));
    expect(errorFromResponse(404, uncoded, SERVER).code).toBe('NOT_FOUND');
  });

  it('says how to log in on 401', () => {
    const e = errorFromResponse(401, JSON.stringify(failureStatus(401, 'invalid bearer token')), SERVER);
    expect(e.code).toBe('UNAUTHENTICATED');
    expect(e.message).toMatch(/^You must be logged in to the server \(Unauthorized\)/);
    expect(e.message).toContain(SERVER);
    expect(e.message).toContain('invalid bearer token');
  });

  it('tells the user to pass --reason or --ticket by the policy code, not the wording', () => {
    const reason = 'policy: sessions in prod/web require a reason; pass --reason "why you need this"';
    expect(errorFromResponse(422, coded(422, 'POLICY_REASON_REQUIRED', reason), SERVER)).toMatchObject({
      code: 'POLICY_REASON_REQUIRED',
      message: `this namespace requires --reason "why you need this session": ${reason}`,
    });
    const ticket = 'policy: sessions in default/web require a ticket; pass --ticket ID';
    expect(errorFromResponse(422, coded(422, 'POLICY_TICKET_REQUIRED', ticket), SERVER)).toMatchObject({
      code: 'POLICY_TICKET_REQUIRED',
      message: `this namespace requires --ticket ID: ${ticket}`,
    });
    // The same words without the code (an admission webhook's, say) are an ordinary refusal.
    const byText = failureStatus(403, 'sessions in namespace prod require a reason and a ticket');
    expect(errorFromResponse(403, JSON.stringify(byText), SERVER)).toMatchObject({
      code: 'FORBIDDEN',
      message: 'Error from server (Forbidden): sessions in namespace prod require a reason and a ticket',
    });
  });

  it('does not mistake an RBAC refusal for a policy one', () => {
    const e = errorFromResponse(
      403,
      JSON.stringify(failureStatus(403, 'pods "web" is forbidden: no')),
      SERVER,
    );
    expect(e.code).toBe('FORBIDDEN');
  });

  it('copes with a body that is not a Status', () => {
    expect(errorFromResponse(502, '<html>Bad Gateway</html>', SERVER).message).toBe(
      'Error from server (HTTP 502): <html>Bad Gateway</html>',
    );
    expect(errorFromResponse(500, '', SERVER)).toMatchObject({ code: 'SERVER_ERROR' });
  });
});

describe('errorFromNetwork', () => {
  it('maps refused, unknown host and timeout to "cannot reach" with what to check', () => {
    for (const code of ['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT']) {
      const e = errorFromNetwork(Object.assign(new Error('x'), { code }), SERVER);
      expect(e.code).toBe('UNREACHABLE');
      expect(e.message).toMatch(
        /^cannot reach the audited-exec recorder at https:\/\/recorder\.example:8443: .+; check --server or the audited-exec-plugin ConfigMap$/,
      );
    }
  });

  it('maps certificate failures to a hint about --server-ca', () => {
    const e = errorFromNetwork(
      Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }),
      SERVER,
    );
    expect(e).toMatchObject({ code: 'TLS', message: expect.stringContaining('--server-ca FILE') });
  });
});

// every byte value: a text decode on the way would mangle the bytes above 0x7f
const BLOB = Buffer.from(Array.from({ length: 256 * 64 }, (_, i) => i % 256));

describe('RecorderClient against a real HTTP server', () => {
  let drainingLeft = 2;
  let server: Server;
  let url: string;
  const seen: IncomingMessage[] = [];

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      seen.push(req);
      const u = new URL(req.url ?? '/', 'http://x');
      res.setHeader('Content-Type', 'application/json');
      if (req.headers.authorization !== 'Bearer good') {
        res.statusCode = 401;
        res.end(JSON.stringify(failureStatus(401, 'token rejected by TokenReview')));
        return;
      }
      if (u.pathname === '/blob') {
        res.setHeader('Content-Type', 'application/gzip');
        res.end(BLOB);
        return;
      }
      if (u.pathname === '/api/v1/sessions/e1/events') {
        const page = u.searchParams.get('continue');
        const ev = (n: number) => ({ kind: 'exec', exec: { argv: [`cmd-${n}`] } });
        res.end(
          JSON.stringify(
            page === 'after 2' ? { items: [ev(3)] } : { items: [ev(1), ev(2)], continue: 'after 2' },
          ),
        );
        return;
      }
      if (u.pathname === '/api/v1/sessions' && req.method === 'POST') {
        // The first two asks meet replicas that are shutting down; the third one is answered.
        drainingLeft--;
        res.statusCode = drainingLeft >= 0 ? 503 : 201;
        res.end(
          drainingLeft >= 0
            ? coded(503, 'REPLICA_DRAINING', 'this recorder replica is shutting down')
            : JSON.stringify({ id: 'new', streamPath: '/s' }),
        );
        return;
      }
      if (u.pathname === '/api/v1/sessions') {
        const page = u.searchParams.get('continue');
        const item = (id: string) => ({ id, user: 'alice', namespace: u.searchParams.get('namespace') });
        res.end(
          JSON.stringify(page ? { items: [item('c')] } : { items: [item('a'), item('b')], continue: 'p2' }),
        );
        return;
      }
      res.statusCode = 404;
      res.end(JSON.stringify(failureStatus(404, 'session "x" not found')));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("follows a session's events to their last page", async () => {
    const client = new RecorderClient({ url, headers: { Authorization: 'Bearer good' }, tls: {} });
    const argv: string[] = [];
    for await (const e of client.allEvents('e1')) argv.push(e.exec!.argv[0]!);
    expect(argv).toEqual(['cmd-1', 'cmd-2', 'cmd-3']);
  });

  it('asks again when a replica answers that it is draining, and gets the session from another', async () => {
    const client = new RecorderClient({ url, headers: { Authorization: 'Bearer good' }, tls: {} });
    drainingLeft = 2;
    await expect(client.createSession({ kind: 'exec', command: ['true'] } as never)).resolves.toMatchObject({
      id: 'new',
    });
    drainingLeft = 100;
    await expect(client.createSession({ kind: 'exec', command: ['true'] } as never)).rejects.toMatchObject({
      code: 'REPLICA_DRAINING',
    });
  });

  it('follows continue to the last page and sends the query and credentials', async () => {
    const client = new RecorderClient({ url, headers: { Authorization: 'Bearer good' }, tls: {} });
    const ids: string[] = [];
    for await (const s of client.allSessions({ namespace: 'shop', user: '' })) ids.push(s.id);
    expect(ids).toEqual(['a', 'b', 'c']);
    expect(seen.at(-1)?.url).toBe('/api/v1/sessions?namespace=shop&continue=p2');
  });

  it('turns a 401 into the login sentence', async () => {
    const client = new RecorderClient({ url, headers: { Authorization: 'Bearer bad' }, tls: {} });
    await expect(client.listSessions({})).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
      message: expect.stringContaining('token rejected by TokenReview'),
    });
  });

  it('turns a 401 on the WebSocket upgrade into the same sentence', async () => {
    const client = new RecorderClient({ url, headers: { Authorization: 'Bearer bad' }, tls: {} });
    await expect(client.openStream('/api/v1/sessions/x/stream')).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
    });
  });

  it('downloads binary bodies byte for byte, with credentials and progress', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plugin-client-'));
    try {
      const client = new RecorderClient({ url, headers: { Authorization: 'Bearer good' }, tls: {} });
      const counts: number[] = [];
      const file = join(dir, 'b.tar.gz');
      const n = await client.download('/blob', file, {
        accept: 'application/gzip',
        onBytes: (c) => counts.push(c),
      });
      expect(n).toBe(BLOB.length);
      expect(readFileSync(file).equals(BLOB)).toBe(true);
      expect(counts.at(-1)).toBe(BLOB.length);
      expect(seen.at(-1)?.headers.accept).toBe('application/gzip');
      expect(existsSync(`${file}.part`)).toBe(false);

      const missing = join(dir, 'missing.tar.gz');
      await expect(client.download('/api/v1/sessions/x/evidence', missing)).rejects.toMatchObject({
        code: 'NOT_FOUND',
        message: 'Error from server (NotFound): session "x" not found',
      });
      expect(existsSync(missing) || existsSync(`${missing}.part`)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports a closed port as unreachable', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const client = new RecorderClient({ url: `http://127.0.0.1:${port}`, headers: {}, tls: {} });
    await expect(
      client.createSession({ kind: 'exec', command: ['x'], tty: false, stdin: false }),
    ).rejects.toThrow(
      `cannot reach the audited-exec recorder at http://127.0.0.1:${port}: connection refused; check --server or the audited-exec-plugin ConfigMap`,
    );
    await expect(client.openStream('/s')).rejects.toMatchObject({ code: 'UNREACHABLE' });
  });

  it('gives up on a stream whose upgrade is never answered, by its own timer', async () => {
    const silent = createNetServer(() => {}); // accepts, never answers
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as AddressInfo).port;
    try {
      const client = new RecorderClient({
        url: `http://127.0.0.1:${port}`,
        headers: {},
        tls: {},
        timeoutMs: 200,
      });
      await expect(client.openStream('/s')).rejects.toMatchObject({
        code: 'UNREACHABLE',
        message: expect.stringContaining(': no answer in time;'),
      });
    } finally {
      silent.close();
    }
  });
});
