// The web UI's evidence download (server/ui/session-files.ts) streams the sealed bundle with its
// Content-Length, behind the same viewability check as the session page.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTarGz } from '../../common/evidence/tar.ts';
import { verifyBundle } from '../../common/evidence/verify.ts';
import { createEvidence } from '../../server/evidence/evidence.ts';
import type { RequestContext } from '../../server/http/router.ts';
import type { UiContext, ViewerHandler } from '../../server/ui/context.ts';
import { sessionFileRoutes } from '../../server/ui/session-files.ts';
import type { ResolvedViewer } from '../../server/ui/viewer.ts';
import { fakePlayer, memoryKey, SESSION_ID, seededStore, sessionRecord } from './fixture.ts';

let server: Server;
let base: string;

beforeAll(async () => {
  const handlers = new Map<string, ViewerHandler>();
  // Only the bob/alice rule matters here; the real SessionAccess has its own tests.
  sessionFileRoutes(
    (pattern, h) => handlers.set(pattern, h),
    async (ctx) => {
      if (ctx.req.headers.authorization !== 'alice') {
        ctx.res.writeHead(403).end();
        return null;
      }
      return sessionRecord();
    },
  );
  const evidence = createEvidence({ store: seededStore(), key: memoryKey(), player: fakePlayer });
  const ui = { deps: { evidence } } as unknown as UiContext;
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const ctx: RequestContext = { req, res, url, params: { id: SESSION_ID }, user: null };
    void handlers.get('/ui/sessions/:id/evidence')!(ctx, {} as ResolvedViewer, ui);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ui/sessions/${SESSION_ID}/evidence`;
});

afterAll(async () => {
  await new Promise((r) => server?.close(r));
});

describe('UI evidence download', () => {
  it('streams the bundle with its length to a viewer, and nothing to anyone else', async () => {
    const res = await fetch(base, { headers: { authorization: 'alice' } });
    expect(res.status).toBe(200);
    const body = new Uint8Array(await res.arrayBuffer());
    expect(Number(res.headers.get('content-length'))).toBe(body.length);
    expect(verifyBundle(readTarGz(body))).toMatchObject({ ok: true, chainLength: 1 });
    const head = await fetch(base, { method: 'HEAD', headers: { authorization: 'alice' } });
    expect(head.headers.get('content-length')).toBe(String(body.length));
    expect((await fetch(base, { headers: { authorization: 'bob' } })).status).toBe(403);
  });
});
