import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import type { ShimEventsMessage } from '../../common/shim-protocol.ts';
import type { InferredExecHint, ShimEvent } from '../../common/wire.ts';
import { Shipper } from '../../shim/shipper.ts';

/** A small recorder stand-in: checks the token, stores by seq like the real server, acks. */
class TestServer {
  wss!: WebSocketServer;
  port = 0;
  stored = new Map<number, number>(); // auditSerial → times stored
  highest = 0;
  tokens: string[] = [];
  async start(port = 0): Promise<void> {
    this.wss = new WebSocketServer({ port });
    await new Promise((r) => this.wss.once('listening', r));
    this.port = (this.wss.address() as AddressInfo).port;
    this.wss.on('connection', (ws, req) => {
      this.tokens.push(req.headers.authorization ?? '');
      ws.on('message', (data) => {
        const msg = JSON.parse(String(data)) as ShimEventsMessage;
        for (const e of msg.events) {
          if (e.seq <= this.highest) continue;
          this.highest = e.seq;
          this.stored.set(e.auditSerial, (this.stored.get(e.auditSerial) ?? 0) + 1);
        }
        ws.send(JSON.stringify({ type: 'ack', seq: this.highest }));
      });
    });
  }
  async stop(): Promise<void> {
    for (const c of this.wss.clients) c.terminate();
    await new Promise((r) => this.wss.close(r));
  }
}

const event = (serial: number): Omit<ShimEvent, 'seq'> => ({
  node: 'n1',
  bootId: 'b',
  auditSerial: serial,
  auditTime: '1.000',
  containerId: null,
  kind: 'exec',
  raw: [`type=SYSCALL msg=audit(1.000:${serial}): x=1`],
});

describe('Shipper', () => {
  const dirs: string[] = [];
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('loses nothing and stores nothing twice across a server restart and a shim restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ae-shim-ship-'));
    dirs.push(dir);
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'tok-1\n');
    const server = new TestServer();
    await server.start();
    const port = server.port;
    const mk = () =>
      new Shipper({
        url: `ws://127.0.0.1:${port}/api/v1/shim`,
        tokenFile,
        spoolDir: join(dir, 'spool'),
        minBackoffMs: 20,
        maxBackoffMs: 100,
      });
    let shipper = mk();
    cleanups.push(() => shipper.stop());
    shipper.start();
    let serial = 0;
    const send = (n: number) => shipper.enqueue(Array.from({ length: n }, () => event(++serial)));
    send(100);
    await shipper.drained();
    expect(server.stored.size).toBe(100);

    await server.stop(); // the server goes away; events wait on disk
    send(300);
    expect(shipper.pending).toBe(300);
    writeFileSync(tokenFile, 'tok-2\n'); // rotated token is re-read on reconnect
    const server2 = Object.assign(new TestServer(), { stored: server.stored, highest: server.highest });
    await server2.start(port);
    cleanups.push(() => server2.stop());
    await shipper.drained();
    expect(server2.tokens.at(-1)).toBe('Bearer tok-2');

    shipper.stop(); // shim restart: the spool and seq survive
    shipper = mk();
    send(50);
    shipper.start();
    await shipper.drained();
    expect(server2.stored.size).toBe(450);
    expect([...server2.stored.values()].every((n) => n === 1)).toBe(true);
    expect(shipper.pending).toBe(0);
  });

  it('passes expect-exec hints to the callback', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ae-shim-ship-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'token'), 't');
    const wss = new WebSocketServer({ port: 0 });
    await new Promise((r) => wss.once('listening', r));
    cleanups.push(
      () =>
        new Promise((r) => {
          for (const c of wss.clients) c.terminate();
          wss.close(r);
        }),
    );
    const hint: InferredExecHint = {
      type: 'expect-exec',
      session: 's',
      containerId: 'c',
      time: '2026-01-01T00:00:00Z',
    };
    wss.on('connection', (ws) => ws.send(JSON.stringify(hint)));
    const got = await new Promise<InferredExecHint>((resolve) => {
      const s = new Shipper({
        url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/api/v1/shim`,
        tokenFile: join(dir, 'token'),
        spoolDir: join(dir, 'spool'),
        onHint: resolve,
      });
      cleanups.push(() => s.stop());
      s.start();
    });
    expect(got).toEqual(hint);
  });
});
