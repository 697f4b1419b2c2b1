// GET /api/v1/sessions/{id}/events and GET /api/v1/sessions/{id} share one read rule (server/auth/
// session-access.ts): the session's own user, uids agreeing when both are known, or `get` via RBAC. The
// events answer pages with limit + continue. A real HTTP server on port 0; the store, the events
// and the access reviewer are in memory.
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionEventList, SessionRecord, ShimEvent } from '../../../common/wire.ts';
import type { AccessQuery } from '../../../server/auth/access.ts';
import { SessionAccess } from '../../../server/auth/session-access.ts';
import type { UserInfo } from '../../../server/auth/user.ts';
import { registerEventRoutes } from '../../../server/events/routes.ts';
import type { EventStore } from '../../../server/events/store.ts';
import { Router } from '../../../server/http/router.ts';
import { readRoutes } from '../../../server/sessions/read.ts';
import type { SessionServices } from '../../../server/sessions/services.ts';

const ID = '11111111-1111-4111-8111-111111111111';
let SESSION: SessionRecord = {
  id: ID,
  kind: 'exec',
  state: 'ended',
  user: 'alice',
  uid: 'uid-alice',
  groups: [],
  namespace: 'default',
  command: ['sh'],
  tty: false,
  stdin: false,
  attribution: 'marker',
  auditId: ID,
  startedAt: '2026-01-01T00:00:00.000Z',
  endedAt: '2026-01-01T00:00:03.500Z',
  recordInput: false,
};

const USERS: Record<string, UserInfo> = {
  alice: { username: 'alice', uid: 'uid-alice', groups: [], method: 'token' },
  // The same name from another identity provider: not the session's owner.
  impostor: { username: 'alice', uid: 'uid-other', groups: [], method: 'token' },
  auditor: { username: 'auditor', groups: ['auditors'], method: 'token' },
};

/** 7 events: two share a time and serial (an exec and an alert of one audit event). */
function events(): ShimEvent[] {
  const ev = (serial: number, kind: 'exec' | 'alert', node = 'n1'): ShimEvent => ({
    seq: serial,
    node,
    bootId: 'b',
    auditSerial: serial,
    auditTime: `${1767225600 + serial}.000`,
    containerId: null,
    kind,
    // the audit time as the shim reports it on the exec or alert
    [kind]: { time: new Date((1767225600 + serial) * 1000).toISOString() },
    raw: [],
  });
  // Stored in a scrambled order: the answer must come in audit order anyway.
  return [
    ev(5, 'exec'),
    ev(1, 'exec'),
    ev(3, 'alert'),
    ev(3, 'exec'),
    ev(2, 'exec'),
    ev(4, 'exec', 'n2'),
    ev(4, 'exec'),
  ];
}

describe('session read rule and events paging', () => {
  let server: Server;
  let base: string;
  const asked: AccessQuery[] = [];

  beforeAll(async () => {
    const services = {
      store: { getSession: async (id: string) => (id === ID ? SESSION : undefined) },
      access: new SessionAccess({
        reviewer: {
          allowed: async (user: UserInfo, q: AccessQuery) => {
            asked.push(q);
            return user.groups.includes('auditors');
          },
        },
      }),
      dataDir: '/nonexistent',
    } as unknown as SessionServices;
    const router = new Router({
      authenticator: { authenticate: async (req) => USERS[String(req.headers.authorization)] ?? null },
    });
    const read = readRoutes(services);
    router.get('/api/v1/sessions/:id', read.get);
    registerEventRoutes(router, {
      services,
      events: { listEvents: async () => events() } as unknown as EventStore,
    });
    server = createServer((req, res) => void router.handle(req, res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const get = async (who: string, path: string) => {
    const res = await fetch(base + path, { headers: { Authorization: who } });
    return { status: res.status, body: (await res.json()) as SessionEventList & { message?: string } };
  };

  it('lets the owner read the session and its events without asking RBAC', async () => {
    asked.length = 0;
    expect((await get('alice', `/api/v1/sessions/${ID}`)).status).toBe(200);
    expect((await get('alice', `/api/v1/sessions/${ID}/events`)).status).toBe(200);
    expect(asked).toEqual([]);
  });

  it('refuses the same username with another uid on both endpoints (one rule)', async () => {
    for (const path of [`/api/v1/sessions/${ID}`, `/api/v1/sessions/${ID}/events`]) {
      const r = await get('impostor', path);
      expect(r.status, path).toBe(403);
      expect(r.body.message).toMatch(/needs get on sessions.audited-exec.io/);
    }
  });

  it('lets an auditor with get read it, asking for exactly that session in its namespace', async () => {
    asked.length = 0;
    expect((await get('auditor', `/api/v1/sessions/${ID}/events`)).status).toBe(200);
    expect(asked).toEqual([
      { verb: 'get', resource: 'sessions', group: 'audited-exec.io', namespace: 'default', name: ID },
    ]);
  });

  it('names who terminated the session, why and when; nothing of the kind for one that ended', async () => {
    expect((await get('alice', `/api/v1/sessions/${ID}/events`)).body.termination).toBeUndefined();
    const ended = SESSION;
    SESSION = { ...ended, state: 'terminated', terminatedBy: 'mod', terminationReason: 'loop' };
    try {
      expect((await get('alice', `/api/v1/sessions/${ID}/events?limit=1`)).body.termination).toEqual({
        by: 'mod',
        reason: 'loop',
        at: ended.endedAt,
      });
    } finally {
      SESSION = ended;
    }
  });

  it('marks what happened after the session ended (a process that outlived the shell)', async () => {
    const r = await get('alice', `/api/v1/sessions/${ID}/events`);
    expect(r.body.items.map((e) => `${e.auditSerial}${e.afterEnd ? '+' : ''}`)).toEqual([
      '1',
      '2',
      '3',
      '3',
      '4+',
      '4+',
      '5+',
    ]);
  });

  it('answers every event in audit order by default, without continue', async () => {
    const r = await get('alice', `/api/v1/sessions/${ID}/events`);
    expect(r.body.continue).toBeUndefined();
    expect(r.body.items.map((e) => `${e.auditSerial}${e.kind[0]}${e.node}`)).toEqual([
      '1en1',
      '2en1',
      '3en1',
      '3an1',
      '4en1',
      '4en2',
      '5en1',
    ]);
    expect(r.body.items[0]).not.toHaveProperty('seq');
  });

  it('pages with limit + continue: every event once, in the same order', async () => {
    const all = (await get('alice', `/api/v1/sessions/${ID}/events`)).body.items;
    const seen: unknown[] = [];
    let next: string | undefined;
    let pages = 0;
    do {
      const q = new URLSearchParams({ limit: '2', ...(next ? { continue: next } : {}) });
      const r = await get('alice', `/api/v1/sessions/${ID}/events?${q}`);
      expect(r.status).toBe(200);
      expect(r.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...r.body.items);
      next = r.body.continue;
      pages++;
    } while (next);
    expect(pages).toBe(4);
    expect(seen).toEqual(all);
  });

  it('refuses a bad limit or a forged cursor with 400', async () => {
    expect((await get('alice', `/api/v1/sessions/${ID}/events?limit=0`)).status).toBe(400);
    expect((await get('alice', `/api/v1/sessions/${ID}/events?limit=abc`)).status).toBe(400);
    const forged = await get('alice', `/api/v1/sessions/${ID}/events?continue=bm90LWEtY3Vyc29y`);
    expect(forged.status).toBe(400);
    expect(forged.body.message).toMatch(/continue token/);
  });
});
