// A request about a session another live replica records is answered by that replica, streamed
// through; anything else (ended sessions, dead owners, loops, an impostor's certificate) is not.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionRecord } from '../../../common/wire.ts';
import { Router } from '../../../server/http/router.ts';
import { FORWARDED_HEADER, FORWARDED_ROUTES, sessionForwarder } from '../../../server/replicas/forward.ts';
import { ReplicaPresence } from '../../../server/replicas/presence.ts';
import { MemoryReplicaRegistry } from '../../../server/store/memory-replicas.ts';
import { loadTlsIdentity, type TlsIdentity } from '../../../server/tls.ts';

const ID = '0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9';

describe('forwarding to the replica that records a session', () => {
  let dir: string;
  let shared: TlsIdentity;
  let impostor: TlsIdentity;
  const servers: Server[] = [];
  let session: Partial<SessionRecord> = {};
  const registry = new MemoryReplicaRegistry();
  let front = '';
  const now = () => new Date();

  async function serve(tls: TlsIdentity, handler: Parameters<typeof createServer>[1]): Promise<string> {
    const server = createServer({ cert: tls.cert, key: tls.key }, handler);
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    return `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'forward-test-'));
    shared = await loadTlsIdentity({ dataDir: join(dir, 'shared') });
    impostor = await loadTlsIdentity({ dataDir: join(dir, 'impostor') });
    // The owner streams its answer in pieces, as a live view does, and says who asked.
    const owner = await serve(shared, (req, res) => {
      if (req.method === 'POST') {
        let body = '';
        req.on('data', (c) => (body += c));
        req.on('end', () => res.end(`owner POST ${req.url} host=${req.headers.host} ${body}`));
        return;
      }
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'x-seen-by': String(req.headers[FORWARDED_HEADER]),
      });
      res.write(`data: owner ${req.url}\n\n`);
      setImmediate(() => res.end('data: done\n\n'));
    });
    const fake = await serve(impostor, (_req, res) => res.end('impostor'));
    await registry.heartbeat('owner', owner, now().toISOString());
    await registry.heartbeat('fake', fake, now().toISOString());
    await registry.heartbeat('gone', owner, new Date(Date.now() - 60_000).toISOString());
    const presence = new ReplicaPresence({ self: { id: 'front', url: 'https://unused' }, registry });
    const router = new Router({ authenticator: { authenticate: async () => null } as never });
    const forward = sessionForwarder({
      store: { getSession: async (id) => (id === ID ? ({ id, ...session } as SessionRecord) : undefined) },
      presence,
      fingerprint: shared.fingerprint,
    });
    // As app.ts registers them.
    for (const [method, pattern] of FORWARDED_ROUTES) router.forward(method, pattern, forward);
    router.get('/ui/sessions/:id/*', ({ res }) => void res.end('local'), { auth: false });
    router.post('/api/v1/sessions/:id/terminate', ({ res }) => void res.end('local'), { auth: false });
    front = await serve(shared, (req, res) => void router.handle(req, res));
  });

  afterAll(() => {
    for (const s of servers) s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function get(path: string, headers: Record<string, string> = {}, post?: string) {
    return new Promise<{ status: number; body: string; headers: Record<string, unknown> }>(
      (resolve, reject) => {
        const method = post === undefined ? 'GET' : 'POST';
        const req = request(`${front}${path}`, { rejectUnauthorized: false, headers, method }, (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
        });
        req.on('error', reject);
        req.end(post);
      },
    );
  }

  it('passes a running session of a live replica to it, streamed, naming who forwarded it', async () => {
    session = { state: 'running', replica: 'owner' };
    const r = await get(`/ui/sessions/${ID}/live`);
    expect(r.status).toBe(200);
    expect(r.body).toBe(`data: owner /ui/sessions/${ID}/live\n\ndata: done\n\n`);
    expect(r.headers['x-seen-by']).toBe('front');
  });

  it('passes a termination of a session running on a live replica to it, body and Host as sent', async () => {
    session = { state: 'running', replica: 'owner' };
    const body = JSON.stringify({ reason: 'stop it' });
    const r = await get(
      `/api/v1/sessions/${ID}/terminate`,
      { 'content-type': 'application/json', host: 'recorder.example:8443' },
      body,
    );
    expect(r.body).toBe(`owner POST /api/v1/sessions/${ID}/terminate host=recorder.example:8443 ${body}`);
    session = { state: 'ended', replica: 'owner' };
    expect((await get(`/api/v1/sessions/${ID}/terminate`, {}, body)).body).toBe('local');
  });

  it('answers itself for an ended session, a dead owner, its own session, or a forwarded request', async () => {
    session = { state: 'ended', replica: 'owner' };
    expect((await get(`/ui/sessions/${ID}/live`)).body).toBe('local');
    session = { state: 'running', replica: 'gone' };
    expect((await get(`/ui/sessions/${ID}/live`)).body).toBe('local');
    session = { state: 'running', replica: 'front' };
    expect((await get(`/ui/sessions/${ID}/live`)).body).toBe('local');
    session = { state: 'running', replica: 'owner' };
    expect((await get(`/ui/sessions/${ID}/live`, { [FORWARDED_HEADER]: 'other' })).body).toBe('local');
    expect((await get('/ui/sessions/not-an-id/live')).body).toBe('local');
  });

  it('refuses a replica that does not present the shared certificate (REPLICA_UNREACHABLE)', async () => {
    session = { state: 'running', replica: 'fake' };
    const r = await get(`/ui/sessions/${ID}/live`);
    expect(r.status).toBe(502);
    expect(JSON.parse(r.body).details.causes[0].reason).toBe('REPLICA_UNREACHABLE');
    expect(r.body).not.toContain('impostor');
  });
});
