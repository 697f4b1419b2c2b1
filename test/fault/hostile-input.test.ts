// Hostile input against the real recorder: garbage and oversized WebSocket frames, resize floods,
// unknown channels, path traversal in session ids, a 1 MB URL, a 1 MB body. Each gets a clean refusal (a 4xx,
// or a WebSocket close code), and after each a healthy session still works.
// (Forged shim events for another node: test/e2e/shim.test.ts covers it.)
import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAsciicast } from '../../common/asciicast.ts';
import { Channel, encodeFrame, encodeResize } from '../../common/channel.ts';
import { type Sandbox, startSandbox } from '../sandbox/index.ts';
import { type Credentials, call } from '../server/client.ts';
import { finalState, healthy, openSession } from '../support/fault-session.ts';
import { skipE2E } from '../support/prereq.ts';
import { type RecorderHandle, startRecorder } from '../support/recorder.ts';

/** A raw GET: status and body, or the transport error's code when the server hung up. */
function rawGet(
  rec: RecorderHandle,
  path: string,
  token: string,
): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: new URL(rec.url).port,
        path,
        ca: rec.caPem,
        servername: 'localhost',
        headers: { Authorization: `Bearer ${token}` },
      },
      (res) => {
        let body = '';
        res.on('data', (c) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    req.end();
  });
}

describe.skipIf(skipE2E('fault: hostile input', 'root', 'runc'))('hostile input', () => {
  let sb: Sandbox;
  let rec: RecorderHandle;
  let alice: Credentials;

  beforeAll(async () => {
    sb = await startSandbox({ log: () => {} });
    rec = await startRecorder({ sandbox: sb });
    alice = { token: sb.tokens.alice! };
  }, 120_000);
  afterAll(async () => {
    await rec?.stop();
    await sb?.stop();
  });

  it('closes a stream that sends a 64 MiB message with 1009, ends the session, and keeps serving', async () => {
    const s = await openSession(rec, alice, { command: ['cat'] });
    s.ws.send(encodeFrame(Channel.stdin, Buffer.alloc(64 * 1024 * 1024, 0x61)));
    const closed = await s.closed;
    expect(closed.code).toBe(1009);
    const after = await finalState(rec, alice, s.id);
    expect(after.state).toBe('interrupted');
    expect(after.error).toBeTruthy();
    await healthy(rec, alice);
  }, 60_000);

  it('survives garbage: text frames, empty frames, unknown channels, bad resize JSON', async () => {
    const s = await openSession(rec, alice, { command: ['cat'] });
    s.ws.send('this is not a channel frame');
    s.ws.send(Buffer.alloc(0));
    s.ws.send(encodeFrame(9, 'unknown channel'));
    s.ws.send(encodeFrame(200, Buffer.from([0xff, 0xfe])));
    s.ws.send(encodeFrame(Channel.resize, '{"Width":"wide","Height":-1}'));
    s.ws.send(encodeFrame(Channel.resize, 'not json at all {'));
    s.type('still-here\n');
    // Either the session carries on (the garbage is dropped) or it is closed with a code: both are clean.
    const outcome = await Promise.race([
      s.waitOutput('still-here').then(() => 'alive' as const),
      s.closed.then((c) => c),
    ]);
    if (outcome === 'alive') {
      s.ws.send(encodeFrame(Channel.close, Buffer.from([Channel.stdin])));
      expect((await s.closed).code).toBe(1000);
    } else {
      expect(outcome.code).not.toBe(1006);
    }
    await healthy(rec, alice);
  }, 60_000);

  it('takes a flood of 5,000 resizes on a tty session without losing the terminal, and records them', async () => {
    const s = await openSession(rec, alice, { command: ['bash', '--norc', '--noprofile'], tty: true });
    for (let i = 0; i < 5000; i++) s.ws.send(encodeResize({ width: 80 + (i % 40), height: 24 + (i % 10) }));
    // runc hands resizes to the terminal asynchronously: wait in the shell until the last one
    // landed. The arithmetic keeps the awaited text out of the echoed command line.
    s.type(
      'until [ "$(stty size)" = "$((30 + 3)) $((100 + 19))" ]; do sleep 0.05; done; echo size-$((6 * 7)); exit\n',
    );
    await s.waitOutput('size-42');
    expect((await s.closed).code).toBe(1000);
    const cast = decodeAsciicast((await call(rec, alice, 'GET', `/api/v1/sessions/${s.id}/recording`)).text);
    expect(cast.events.filter((e) => e.code === 'r').length).toBeGreaterThan(0);
    expect((await finalState(rec, alice, s.id)).state).toBe('ended');
    await healthy(rec, alice);
  }, 60_000);

  it.each([
    '/api/v1/sessions/..%2F..%2Fetc%2Fpasswd/recording',
    '/api/v1/sessions/..%2F..%2F..%2F..%2Fetc%2Fpasswd',
    '/api/v1/sessions/%2e%2e/%2e%2e/recording',
    '/api/v1/sessions/../../etc/passwd/recording',
    '/api/v1/sessions/00000000-0000-4000-8000-000000000000%00/recording',
  ])('refuses the traversal %s with a 4xx Status, never a file', async (path) => {
    const r = await rawGet(rec, path, alice.token!);
    expect('status' in r, JSON.stringify(r)).toBe(true);
    if (!('status' in r)) return;
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
    expect(r.body).not.toMatch(/root:.*:0:0:/);
    await healthy(rec, alice);
  });

  it('answers a 1 MB URL with 431 and a Status (not a reset), and keeps serving', async () => {
    const r = await rawGet(rec, `/api/v1/sessions?q=${'a'.repeat(1024 * 1024)}`, alice.token!);
    expect('status' in r, JSON.stringify(r)).toBe(true);
    if (!('status' in r)) return;
    expect(r.status).toBe(431);
    expect(JSON.parse(r.body)).toMatchObject({
      kind: 'Status',
      code: 431,
      message: expect.stringMatching(/too large/),
    });
    await healthy(rec, alice);
  });

  it('refuses a query string over 8 KiB that fits the header limit with 414', async () => {
    const r = await rawGet(rec, `/api/v1/sessions?user=${'a'.repeat(10 * 1024)}`, alice.token!);
    expect(r).toMatchObject({ status: 414 });
  });

  it('refuses a 1 MB JSON body with 413 before reading it', async () => {
    const r = await call(rec, alice, 'POST', '/api/v1/sessions', { command: ['x'.repeat(1024 * 1024)] });
    expect(r.status).toBe(413);
    expect(r.body).toMatchObject({
      kind: 'Status',
      message: expect.stringMatching(/larger than 65536 bytes/),
    });
  });
});
