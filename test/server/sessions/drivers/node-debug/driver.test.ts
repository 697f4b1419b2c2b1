// The node-debug driver against an in-memory apiserver: the pod created as the user, waited for with
// progress on the user's stderr, attached as the user, replayed from its log when it already ended,
// and deleted as the recorder whatever happened.
import { describe, expect, it } from 'vitest';
import { Channel } from '../../../../../common/channel.ts';
import { failureStatus } from '../../../../../common/status.ts';
import type { UserInfo } from '../../../../../server/auth/user.ts';
import type { KubeRequest } from '../../../../../server/kube/client.ts';
import { SessionRefusal, SessionStop } from '../../../../../server/sessions/driver.ts';
import { NodeDebugDriver } from '../../../../../server/sessions/drivers/node-debug/driver.ts';
import { FakeOpenContext, FakeSocket, fakeKube, fakeStreams, MemoryStore, session } from '../../fakes.ts';

const alice: UserInfo = { username: 'alice', groups: ['dev'], method: 'token' };
const settings = { namespace: 'dbg', image: 'busybox:1.36', podTimeoutMs: 5000, pollMs: 1 };
const debugSession = session({
  kind: 'node-debug',
  state: 'running',
  tty: true,
  namespace: 'dbg',
  pod: 'node-debugger-n1-abcde',
  container: 'debugger',
  node: 'n1',
  image: 'busybox:1.36',
  profile: 'general',
  command: [],
});

/** A pod whose container is running, or terminated with `exitCode`. */
function pod(state: 'running' | { exitCode: number }) {
  const s = state === 'running' ? { running: {} } : { terminated: { exitCode: state.exitCode } };
  return {
    status: 200,
    body: { status: { containerStatuses: [{ name: 'debugger', containerID: 'containerd://c1', state: s }] } },
  };
}

function driverWith(answer: (r: KubeRequest) => { status: number; body?: unknown; text?: string }) {
  const kube = fakeKube(answer);
  const upstream = new FakeSocket();
  const streams = fakeStreams(() => ({ ok: true, ws: upstream, protocol: upstream.protocol }));
  const logs: string[] = [];
  const driver = new NodeDebugDriver({
    kube,
    store: new MemoryStore(),
    settings,
    streams,
    log: (l) => logs.push(l),
  });
  return { driver, kube, streams, upstream, logs };
}

describe('NodeDebugDriver', () => {
  it('create: posts the debug pod as the user, with the session id as its audit id', async () => {
    const { driver, kube } = driverWith(() => ({ status: 201 }));
    const target = await driver.create({
      request: { kind: 'node-debug', node: 'n1', command: [], tty: true, stdin: true },
      user: alice,
      id: debugSession.id,
    });
    expect(target).toMatchObject({
      namespace: 'dbg',
      container: 'debugger',
      node: 'n1',
      image: 'busybox:1.36',
    });
    expect(kube.requests[0]).toMatchObject({
      method: 'POST',
      path: '/api/v1/namespaces/dbg/pods',
      impersonate: { user: 'alice', session: debugSession.id },
      auditId: debugSession.id,
    });
  });

  it('open: accepts the user at once, waits for the container, records, attaches as the user', async () => {
    let polls = 0;
    const { driver, streams, upstream } = driverWith(() =>
      ++polls < 3 ? { status: 200, body: { status: { phase: 'Pending' } } } : pod('running'),
    );
    const c = new FakeOpenContext(debugSession);
    const opened = await driver.open(c);
    expect(c.accepted).toBe(true);
    expect(c.told[0]).toMatch(/^debug pod dbg\/node-debugger-n1-abcde \(container debugger, profile general/);
    expect(c.told.at(-1)).toBe("If you don't see a command prompt, try pressing enter.");
    expect(c.updates).toEqual([{ containerId: 'c1' }]);
    expect(c.title).toBe('alice node/n1: busybox:1.36 (default command)');
    expect('stream' in opened && opened.stream).toBe(upstream);
    expect(streams.requests[0]).toMatchObject({ what: 'attach', impersonate: { user: 'alice' } });
    expect(streams.requests[0]!.path).toBe(
      '/api/v1/namespaces/dbg/pods/node-debugger-n1-abcde/attach?container=debugger&stdin=true&stdout=true&stderr=false&tty=true',
    );
  });

  it('open: a container that already ended is replayed from its log, recorded before it is sent', async () => {
    const { driver, streams } = driverWith((r) =>
      r.path.includes('/log?') ? { status: 200, text: 'done\n' } : pod({ exitCode: 2 }),
    );
    const c = new FakeOpenContext(debugSession);
    const opened = await driver.open(c);
    expect(opened).toEqual({ ended: expect.objectContaining({ outcome: 'exited', exitCode: 2 }) });
    expect(Buffer.concat(c.output).toString()).toBe('done\n');
    expect(c.client.textOn(Channel.stdout)).toBe('done\n');
    expect(streams.requests).toEqual([]);
  });

  it('open: the user leaving while the pod starts ends it interrupted, in its own words', async () => {
    const { driver } = driverWith(() => ({ status: 200, body: { status: { phase: 'Pending' } } }));
    const c = new FakeOpenContext(debugSession);
    c.told.push = (text: string) => {
      c.abort.abort(new SessionStop('client-gone', 'the user disconnected before the stream opened'));
      return Array.prototype.push.call(c.told, text);
    };
    const err = await driver.open(c).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SessionRefusal);
    expect(err).toMatchObject({
      state: 'interrupted',
      message: 'the user disconnected before the debug pod started',
    });
  });

  it('open: a refused attach ends the session refused with the apiserver status', async () => {
    const c = new FakeOpenContext(debugSession);
    const refusing = new NodeDebugDriver({
      kube: fakeKube(() => pod('running')),
      store: new MemoryStore(),
      settings,
      streams: fakeStreams(() => ({ ok: false, status: failureStatus(403, 'pods/attach is forbidden') })),
    });
    await expect(refusing.open(c)).rejects.toMatchObject({ state: 'refused', status: { code: 403 } });
  });

  it('cleanup deletes the pod as the recorder; a failure is logged, not thrown', async () => {
    const { driver, kube, logs } = driverWith(() => ({ status: 500, text: 'etcd is down' }));
    await driver.cleanup(debugSession);
    expect(kube.requests[0]).toMatchObject({
      method: 'DELETE',
      path: '/api/v1/namespaces/dbg/pods/node-debugger-n1-abcde',
    });
    expect(kube.requests[0]!.impersonate).toBeUndefined();
    expect(logs[0]).toMatch(/cannot delete debug pod dbg\/node-debugger-n1-abcde \(HTTP 500\)/);
  });
});
