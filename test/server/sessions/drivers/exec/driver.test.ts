// The exec driver against an in-memory apiserver: the pod read as the user, the exec opened as the
// session's user with the marker, reopened without it, refusals passed on in the apiserver's words.
import { describe, expect, it } from 'vitest';
import { failureStatus } from '../../../../../common/status.ts';
import type { UserInfo } from '../../../../../server/auth/user.ts';
import { SessionRefusal } from '../../../../../server/sessions/driver.ts';
import { ExecDriver } from '../../../../../server/sessions/drivers/exec/driver.ts';
import { FakeOpenContext, FakeSocket, fakeKube, fakeStreams, session } from '../../fakes.ts';

const alice: UserInfo = {
  username: 'alice',
  uid: 'u1',
  groups: ['dev', 'system:authenticated'],
  method: 'token',
};
const request = {
  kind: 'exec' as const,
  namespace: 'default',
  pod: 'web',
  command: ['sh'],
  tty: false,
  stdin: true,
};

describe('ExecDriver', () => {
  it('create: reads the pod as the user and names the container, its id and node', async () => {
    const kube = fakeKube(() => ({
      status: 200,
      body: {
        spec: { nodeName: 'n1', containers: [{ name: 'app', image: 'busybox' }] },
        status: { phase: 'Running', containerStatuses: [{ name: 'app', containerID: 'containerd://abc' }] },
      },
    }));
    const target = await new ExecDriver({ kube, streams: fakeStreams(() => failed()) }).create({
      request,
      user: alice,
      id: session().id,
    });
    expect(target).toEqual({ container: 'app', containerId: 'abc', node: 'n1', image: 'busybox' });
    expect(kube.requests[0]).toMatchObject({
      path: '/api/v1/namespaces/default/pods/web',
      impersonate: { user: 'alice', uid: 'u1', groups: ['dev'], session: session().id },
      auditId: session().id,
    });
  });

  it("create: a pod the user may not read is the apiserver's refusal, in its words", async () => {
    const kube = fakeKube(() => ({
      status: 403,
      body: { kind: 'Status', message: 'pods "web" is forbidden', reason: 'Forbidden' },
    }));
    const driver = new ExecDriver({ kube, streams: fakeStreams(() => failed()) });
    await expect(driver.create({ request, user: alice, id: session().id })).rejects.toMatchObject({
      status: 403,
      message: 'pods "web" is forbidden',
    });
  });

  it('open: records first, then execs with the marker as the opener; reopens without it', async () => {
    const upstream = new FakeSocket();
    const streams = fakeStreams(() => ({ ok: true, ws: upstream, protocol: upstream.protocol }));
    const c = new FakeOpenContext(session({ state: 'running', command: ['sh', '-c', 'id'] }));
    const opened = await new ExecDriver({ kube: fakeKube(() => ({ status: 500 })), streams }).open(c);
    expect(c.title).toBe('alice default/web: sh -c id');
    expect(c.accepted).toBe(false); // the upgrade completes only after the apiserver accepted
    expect('stream' in opened && opened.stream).toBe(upstream);
    const first = new URL(streams.requests[0]!.path, 'https://x');
    expect(first.pathname).toBe('/api/v1/namespaces/default/pods/web/exec');
    expect(first.searchParams.getAll('command')).toEqual([
      'env',
      `AUDITED_EXEC_SESSION=${session().id}`,
      'sh',
      '-c',
      'id',
    ]);
    expect(streams.requests[0]).toMatchObject({ what: 'exec', impersonate: { groups: ['dev'] } });
    if (!('stream' in opened)) throw new Error('no stream');
    await opened.reopenWithoutMarker?.();
    const second = new URL(streams.requests[1]!.path, 'https://x');
    expect(second.searchParams.getAll('command')).toEqual(['sh', '-c', 'id']);
  });

  it("open: the apiserver's refusal ends the session refused, with its code and reason", async () => {
    const streams = fakeStreams(() => failed());
    const c = new FakeOpenContext(session({ state: 'running' }));
    const err = await new ExecDriver({ kube: fakeKube(() => ({ status: 500 })), streams })
      .open(c)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SessionRefusal);
    expect(err).toMatchObject({
      state: 'refused',
      status: {
        code: 403,
        reason: 'Forbidden',
        details: { causes: [{ reason: 'SESSION_APISERVER_REFUSED' }] },
      },
    });
  });
});

function failed() {
  return {
    ok: false as const,
    status: failureStatus(403, 'pods "web" is forbidden', { reason: 'Forbidden' }),
  };
}
