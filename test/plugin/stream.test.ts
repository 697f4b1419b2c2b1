import type { AddressInfo } from 'node:net';
import { PassThrough, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import {
  Channel,
  decodeFrame,
  encodeFrame,
  type Frame,
  SUBPROTOCOLS,
  type TerminalSize,
} from '../../common/channel.ts';
import { exitStatusPayload } from '../../common/status.ts';
import { TERMINATED_EXIT_CODE, terminationStatus } from '../../common/termination.ts';
import { bufferedSocket, type ChannelSocket, LOST_MESSAGE, pumpStream } from '../../plugin/stream.ts';

type Script = (ws: WebSocket, frames: AsyncIterator<Frame>) => Promise<void> | void;

let wss: WebSocketServer;
let url: string;
let script: Script;

beforeAll(async () => {
  wss = new WebSocketServer({
    port: 0,
    host: '127.0.0.1',
    handleProtocols: (offered) =>
      [...offered].find((p) => (SUBPROTOCOLS as readonly string[]).includes(p)) ?? false,
  });
  await new Promise((r) => wss.once('listening', r));
  url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/s`;
  wss.on('connection', (ws) => {
    const queue: Frame[] = [];
    const waiters: Array<(f: IteratorResult<Frame>) => void> = [];
    ws.on('message', (d: Buffer) => {
      const f = decodeFrame(d)!;
      const w = waiters.shift();
      if (w) w({ value: f, done: false });
      else queue.push(f);
    });
    const frames: AsyncIterator<Frame> = {
      next: () =>
        queue.length
          ? Promise.resolve({ value: queue.shift()!, done: false })
          : new Promise((r) => waiters.push(r)),
    };
    void script(ws, frames);
  });
});
afterAll(() => new Promise<void>((r) => wss.close(() => r())));

function collect() {
  const s = new PassThrough();
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  return { stream: s, text: () => Buffer.concat(chunks).toString() };
}

async function client(protocols: string[] = [...SUBPROTOCOLS]): Promise<ChannelSocket> {
  const ws = new WebSocket(url, protocols);
  const socket = bufferedSocket(ws);
  await new Promise((r) => ws.once('open', r));
  return socket;
}

const finish = (ws: WebSocket, code: number) => {
  ws.send(encodeFrame(Channel.status, exitStatusPayload(code)));
  ws.close(1000);
};

describe('pumpStream', () => {
  it('writes stdout and stderr apart and returns the remote exit code', async () => {
    script = (ws) => {
      ws.send(encodeFrame(Channel.stdout, 'out\n'));
      ws.send(encodeFrame(Channel.stderr, 'err\n'));
      finish(ws, 4);
    };
    const out = collect();
    const err = collect();
    const r = await pumpStream({
      socket: await client(),
      stdin: null,
      stdout: out.stream,
      stderr: err.stream,
    });
    expect(r).toEqual({ exitCode: 4, lost: false });
    expect(out.text()).toBe('out\n');
    expect(err.text()).toBe('err\n');
  });

  it('reads a moderator’s termination from the status by its code: who, why, exit code 77', async () => {
    const status = terminationStatus({ by: 'mod', reason: 'runaway "job"' });
    script = (ws) => {
      ws.send(encodeFrame(Channel.stdout, 'working\n'));
      ws.send(encodeFrame(Channel.status, JSON.stringify(status)));
      ws.close(1000);
    };
    const out = collect();
    const r = await pumpStream({
      socket: await client(),
      stdin: null,
      stdout: out.stream,
      stderr: collect().stream,
    });
    expect(r).toEqual({
      exitCode: TERMINATED_EXIT_CODE,
      lost: false,
      terminated: { by: 'mod', reason: 'runaway "job"' },
    });
    expect(out.text()).toBe('working\n');
    // The same words without the code are an ordinary failure, not a termination.
    const uncoded = { ...status, details: { causes: [] } };
    script = (ws) => {
      ws.send(encodeFrame(Channel.status, JSON.stringify(uncoded)));
      ws.close(1000);
    };
    const plain = await pumpStream({
      socket: await client(),
      stdin: null,
      stdout: collect().stream,
      stderr: collect().stream,
    });
    expect(plain).toEqual({ exitCode: 1, lost: false, error: status.message });
  });

  it('pipes stdin to channel 0 and sends close(0) at EOF (v5)', async () => {
    const received: string[] = [];
    script = async (ws, frames) => {
      for (;;) {
        const { value: f } = await frames.next();
        if (f.channel === Channel.close) {
          received.push(`close:${f.payload[0]}`);
          break;
        }
        received.push(f.payload.toString());
        ws.send(encodeFrame(Channel.stdout, f.payload));
      }
      finish(ws, 0);
    };
    const stdin = new PassThrough();
    const out = collect();
    const done = pumpStream({ socket: await client(), stdin, stdout: out.stream, stderr: collect().stream });
    stdin.write('hi\n');
    stdin.end('there\n');
    expect(await done).toEqual({ exitCode: 0, lost: false });
    expect(received.join('')).toBe('hi\nthere\nclose:0');
    expect(out.text()).toBe('hi\nthere\n');
  });

  it('does not send close(0) over v4, which has no such frame', async () => {
    const channels: number[] = [];
    script = async (ws, frames) => {
      const { value: f } = await frames.next();
      channels.push(f.channel);
      // give a close(0) frame, if any were sent, time to arrive before we end
      ws.send(encodeFrame(Channel.stdout, 'x'));
      setImmediate(() => finish(ws, 0));
    };
    const stdin = new PassThrough();
    const done = pumpStream({
      socket: await client(['v4.channel.k8s.io']),
      stdin,
      stdout: collect().stream,
      stderr: collect().stream,
    });
    stdin.end('data');
    await done;
    expect(channels).toEqual([Channel.stdin]);
  });

  it('sends the initial terminal size first, then every resize', async () => {
    const sizes: string[] = [];
    let resize: ((s: TerminalSize) => void) | undefined;
    script = async (ws, frames) => {
      const first = (await frames.next()).value;
      sizes.push(`${first.channel}:${first.payload}`);
      resize?.({ width: 100, height: 30 });
      const second = (await frames.next()).value;
      sizes.push(`${second.channel}:${second.payload}`);
      finish(ws, 0);
    };
    let unsubscribed = false;
    await pumpStream({
      socket: await client(),
      stdin: new PassThrough(),
      stdout: collect().stream,
      stderr: collect().stream,
      terminal: {
        size: () => ({ width: 80, height: 24 }),
        onResize: (l) => {
          resize = l;
          return () => {
            unsubscribed = true;
          };
        },
      },
    });
    expect(sizes).toEqual(['4:{"Width":80,"Height":24}', '4:{"Width":100,"Height":30}']);
    expect(unsubscribed).toBe(true);
  });

  it('reports a lost connection with exit code 1 after writing what arrived', async () => {
    script = (ws) => {
      ws.send(encodeFrame(Channel.stdout, 'partial'), () => setImmediate(() => ws.terminate()));
    };
    const out = collect();
    const r = await pumpStream({
      socket: await client(),
      stdin: null,
      stdout: out.stream,
      stderr: collect().stream,
    });
    expect(r).toEqual({ exitCode: 1, lost: true, error: LOST_MESSAGE });
    expect(out.text()).toBe('partial');
  });

  it('reports a status without an exit code (the command could not start) as an error', async () => {
    script = (ws) => {
      ws.send(
        encodeFrame(
          Channel.status,
          JSON.stringify({ status: 'Failure', message: 'exec: "nope": not found' }),
        ),
      );
      ws.close(1000);
    };
    const r = await pumpStream({
      socket: await client(),
      stdin: null,
      stdout: collect().stream,
      stderr: collect().stream,
    });
    expect(r).toEqual({ exitCode: 1, lost: false, error: 'exec: "nope": not found' });
  });

  it('keeps order and loses nothing when stdout is slow (backpressure)', async () => {
    const n = 200;
    script = (ws) => {
      for (let i = 0; i < n; i++)
        ws.send(encodeFrame(Channel.stdout, `${String(i).padStart(5, '0')}${'.'.repeat(4000)}\n`));
      finish(ws, 0);
    };
    const got: string[] = [];
    let drains = 0;
    const slow = new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _enc, cb) {
        got.push(chunk.toString().slice(0, 5));
        setTimeout(cb, 1);
      },
    });
    slow.on('drain', () => drains++);
    const r = await pumpStream({
      socket: await client(),
      stdin: null,
      stdout: slow,
      stderr: collect().stream,
    });
    await new Promise((res) => (slow.writableLength ? slow.once('drain', res) : res(null)));
    expect(r.exitCode).toBe(0);
    expect(got).toEqual(Array.from({ length: n }, (_, i) => String(i).padStart(5, '0')));
    expect(drains).toBeGreaterThan(0);
  });
});
