// The lifecycle with a fake driver, in memory: claim, open, relay, finish, cleanup once, events.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeAsciicast } from '../../../common/asciicast.ts';
import { Channel } from '../../../common/channel.ts';
import { failureStatus, type Status } from '../../../common/status.ts';
import { terminationStatus } from '../../../common/termination.ts';
import type { SessionRecord } from '../../../common/wire.ts';
import type { UserInfo } from '../../../server/auth/user.ts';
import { recordingPath, reserveRecording } from '../../../server/recording/writer.ts';
import { type SessionEventMap, SessionEvents } from '../../../server/sessions/bus.ts';
import {
  type OpenContext,
  type Opened,
  type SessionDriver,
  SessionRefusal,
} from '../../../server/sessions/driver.ts';
import { SessionLifecycle } from '../../../server/sessions/lifecycle.ts';
import { LiveSessions, type SessionServices } from '../../../server/sessions/services.ts';
import { NEVER_OPENED } from '../../../server/sessions/unopened.ts';
import { exitStatus, FakeSocket, MemoryStore, session, stdout } from './fakes.ts';

const alice: UserInfo = { username: 'alice', groups: ['dev', 'ops'], method: 'token' };

class FakeDriver implements SessionDriver {
  readonly kind = 'exec' as const;
  readonly upstream = new FakeSocket();
  readonly cleaned: SessionRecord[] = [];
  /** What the upstream looked like when the lifecycle asked the driver to terminate. */
  readonly terminated: { upstreamClosed: boolean }[] = [];
  async terminate() {
    this.terminated.push({
      upstreamClosed: this.upstream.closeCode !== undefined || this.upstream.terminated,
    });
  }
  open: (c: OpenContext) => Promise<Opened> = async (c) => {
    await c.recording('title');
    return { stream: this.upstream };
  };
  async create() {
    return {};
  }
  async cleanup(s: SessionRecord) {
    this.cleaned.push(s);
  }
}

function handshake(client: FakeSocket | null = new FakeSocket()) {
  const refused: Status[] = [];
  return { refused, client, accept: () => client, refuse: (s: Status) => refused.push(s) };
}

describe('SessionLifecycle', () => {
  let dataDir: string;
  let store: MemoryStore;
  let driver: FakeDriver;
  let services: SessionServices;
  let lifecycle: SessionLifecycle;
  let seen: { event: keyof SessionEventMap; args: unknown[] }[];

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'lifecycle-'));
    // As create does (create.ts): the recording's place is reserved before the stream.
    await reserveRecording(dataDir, session().id);
    store = new MemoryStore();
    driver = new FakeDriver();
    seen = [];
    const events = new SessionEvents();
    for (const event of ['started', 'ended', 'interrupted', 'inferredExec'] as const)
      events.on(event, (...args: unknown[]) => seen.push({ event, args }));
    services = {
      store,
      dataDir,
      events,
      streamTimeoutMs: 60_000,
      clock: () => new Date(),
      live: new LiveSessions(),
    } as unknown as SessionServices;
    lifecycle = new SessionLifecycle(services, new Map([['exec', driver]]));
  });
  afterEach(async () => {
    lifecycle.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  const open = async (h = handshake(), user = alice, offersProtocol = true) => {
    await lifecycle.open({ user, id: session().id, offersProtocol, handshake: h });
    return h;
  };

  it('claims, relays, stores the outcome with the recording digest, cleans up once', async () => {
    await store.insertSession(session());
    const h = await open();
    expect(seen[0]).toMatchObject({ event: 'started', args: [{ state: 'running', groups: alice.groups }] });
    const closed = new Promise((resolve) => h.client?.once('close', resolve));
    driver.upstream.receive(stdout('hi'));
    driver.upstream.receive(exitStatus(0));
    driver.upstream.hangUp();
    await closed;
    const stored = await store.getSession(session().id);
    expect(stored).toMatchObject({ state: 'ended', exitCode: 0, recordingBytes: expect.any(Number) });
    expect(stored?.recordingSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(seen.at(-1)).toMatchObject({ event: 'ended', args: [{ state: 'ended' }, 'exited'] });
    expect(driver.cleaned).toHaveLength(1);
    expect(h.client?.textOn(Channel.stdout)).toBe('hi');
    expect(h.client?.closeCode).toBe(1000);
  });

  it('refuses before the claim: unknown, not yours, used, no protocol; expired ones are cleaned up', async () => {
    await expect(open()).rejects.toMatchObject({ code: 'SESSION_NOT_FOUND' });
    await store.insertSession(session({ user: 'bob' }));
    await expect(open()).rejects.toMatchObject({ code: 'SESSION_NOT_YOURS' });
    await store.insertSession(session({ state: 'ended' }));
    await expect(open()).rejects.toMatchObject({ code: 'SESSION_STREAM_USED' });
    await store.insertSession(session());
    await expect(open(handshake(), alice, false)).rejects.toMatchObject({ code: 'SESSION_PROTOCOL' });
    await store.insertSession(session({ startedAt: new Date(Date.now() - 61_000).toISOString() }));
    await expect(open()).rejects.toMatchObject({ code: 'SESSION_STREAM_EXPIRED' });
    expect((await store.getSession(session().id))?.state).toBe('refused');
    expect(driver.cleaned).toHaveLength(1);
    expect(seen).toEqual([]);
  });

  it("answers the upgrade with the driver's refusal before the user's socket is accepted", async () => {
    await store.insertSession(session());
    driver.open = async () => {
      throw new SessionRefusal(
        'refused',
        failureStatus(403, 'pods/exec is forbidden', { reason: 'Forbidden' }),
      );
    };
    const h = await open();
    expect(h.refused).toEqual([expect.objectContaining({ code: 403, message: 'pods/exec is forbidden' })]);
    expect(await store.getSession(session().id)).toMatchObject({
      state: 'refused',
      error: 'pods/exec is forbidden',
    });
    expect(seen.at(-1)).toMatchObject({
      event: 'ended',
      args: [{ state: 'refused' }, 'refused-before-relay'],
    });
    expect(driver.cleaned).toHaveLength(1);
  });

  it('tells an accepted user why on the status channel, and stores it interrupted when they left', async () => {
    await store.insertSession(session());
    const client = new FakeSocket();
    driver.open = async (c) => {
      c.accept();
      c.tell('waiting for the pod');
      client.hangUp();
      await new Promise((resolve) => c.signal.addEventListener('abort', resolve));
      throw c.signal.reason;
    };
    const h = await open(handshake(client));
    expect(client.textOn(Channel.stderr)).toBe('waiting for the pod\n');
    expect(h.refused).toEqual([]);
    expect(await store.getSession(session().id)).toMatchObject({
      state: 'interrupted',
      error: 'the user disconnected before the stream opened',
    });
    expect(driver.cleaned).toHaveLength(1);
  });

  it('closes an opened upstream when the user disconnected before the upgrade', async () => {
    await store.insertSession(session());
    await open(handshake(null));
    expect(driver.upstream.terminated).toBe(true);
    expect(await store.getSession(session().id)).toMatchObject({
      state: 'interrupted',
      error: 'the user disconnected before the stream opened',
    });
    expect(driver.cleaned).toHaveLength(1);
  });

  it('a shutdown while opening ends the session interrupted with its message', async () => {
    await store.insertSession(session());
    let opened!: () => void;
    const gate = new Promise<void>((r) => (opened = r));
    driver.open = async (c) => {
      await c.recording('title');
      opened();
      await new Promise((resolve) => c.signal.addEventListener('abort', resolve));
      return { stream: driver.upstream };
    };
    const running = open();
    await gate;
    await services.live.stopAll('the recorder is shutting down');
    const h = await running;
    expect(h.refused).toEqual([expect.objectContaining({ message: 'the recorder is shutting down' })]);
    expect(await store.getSession(session().id)).toMatchObject({ state: 'interrupted' });
    expect(driver.upstream.terminated).toBe(true);
  });

  it('a moderator ends a relaying session: marked, told, stream closed before the driver, stored once', async () => {
    await store.insertSession(session());
    const h = await open();
    driver.upstream.receive(stdout('working'));
    const running = (await store.getSession(session().id))!;
    const t = { by: 'mod', reason: 'loop' };
    const ended = await lifecycle.terminate(running, t);
    expect(ended).toMatchObject({ state: 'terminated', terminatedBy: 'mod', terminationReason: 'loop' });
    expect(ended?.recordingSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(driver.terminated).toEqual([{ upstreamClosed: true }]);
    expect(driver.cleaned).toHaveLength(1);
    expect(JSON.parse(h.client!.textOn(Channel.status))).toEqual(terminationStatus(t));
    expect(seen.at(-1)).toMatchObject({ event: 'ended', args: [{ state: 'terminated' }, 'terminated'] });
    const cast = decodeAsciicast(await readFile(recordingPath(dataDir, session().id), 'utf8'));
    expect(cast.events.map((e) => `${e.code}:${e.data}`)).toEqual(['o:working', 'm:terminated by mod: loop']);
    // Ended: a second request finds nothing live.
    expect(await lifecycle.terminate(running, t)).toBeUndefined();
    expect(driver.terminated).toHaveLength(1);
  });

  it('a moderator ends a session still opening (a debug pod starting): stored terminated, the user told', async () => {
    await store.insertSession(session());
    let opened!: () => void;
    const gate = new Promise<void>((r) => (opened = r));
    const client = new FakeSocket();
    driver.open = async (c) => {
      c.accept();
      await c.recording('title');
      opened();
      await new Promise((resolve) => c.signal.addEventListener('abort', resolve));
      throw c.signal.reason;
    };
    const running = open(handshake(client));
    await gate;
    const t = { by: 'mod', reason: 'never mind' };
    const ended = await lifecycle.terminate((await store.getSession(session().id))!, t);
    await running;
    expect(ended).toMatchObject({
      state: 'terminated',
      terminatedBy: 'mod',
      terminationReason: 'never mind',
    });
    expect(JSON.parse(client.textOn(Channel.status))).toEqual(terminationStatus(t));
    expect(seen.at(-1)).toMatchObject({
      event: 'ended',
      args: [{ state: 'terminated' }, 'terminated-before-relay'],
    });
    expect(driver.cleaned).toHaveLength(1);
  });

  it('emits inferredExec before reopening a stream without the marker', async () => {
    await store.insertSession(session({ containerId: 'c'.repeat(64), node: 'n1' }));
    const second = new FakeSocket();
    driver.open = async (c) => {
      await c.recording('title');
      return {
        stream: driver.upstream,
        reopenWithoutMarker: async () => ({ ok: true, ws: second, protocol: second.protocol }),
      };
    };
    const h = await open();
    const closed = new Promise((resolve) => h.client?.once('close', resolve));
    driver.upstream.receive(
      Buffer.concat([
        Buffer.from([Channel.status]),
        Buffer.from(JSON.stringify({ status: 'Failure', message: 'exec: "env": executable file not found' })),
      ]),
    );
    // The relay listens on the new stream once it is open (its 'error' listener comes last).
    await new Promise<void>((resolve) => second.on('newListener', (event) => event === 'error' && resolve()));
    second.receive(exitStatus(0));
    second.hangUp();
    await closed;
    expect(seen.find((e) => e.event === 'inferredExec')?.args[0]).toMatchObject({
      session: session().id,
      containerId: 'c'.repeat(64),
      node: 'n1',
    });
    expect(await store.getSession(session().id)).toMatchObject({ state: 'ended', attribution: 'inferred' });
  });

  it('the unopened sweep ends sessions past the stream timeout and cleans each up once', async () => {
    const old = new Date(Date.now() - 62_000).toISOString();
    await store.insertSession(session({ startedAt: old }));
    await store.insertSession(session({ id: '11111111-2222-4333-8444-555555555555' }));
    expect(await lifecycle.unopened.sweep()).toBe(1);
    expect(await store.getSession(session().id)).toMatchObject({ state: 'interrupted', error: NEVER_OPENED });
    expect((await store.getSession('11111111-2222-4333-8444-555555555555'))?.state).toBe('pending');
    expect(await lifecycle.unopened.sweep()).toBe(0);
    expect(driver.cleaned.map((s) => s.id)).toEqual([session().id]);
  });

  it("announces each started session recover and takeOver end as interrupted, never as 'ended'", async () => {
    const id = (n: number) => `11111111-2222-4333-8444-${String(n).padStart(12, '0')}`;
    const old = new Date(Date.now() - 62_000).toISOString();
    services.replica = 'r-self';
    await store.insertSession(session({ id: id(1), state: 'running', replica: 'r-self' }));
    await store.insertSession(session({ id: id(2), state: 'running', replica: 'r-dead' }));
    await store.insertSession(session({ id: id(3), state: 'running', replica: 'r-alive' }));
    // Never started: marked, but there is no start to match an end.
    await store.insertSession(session({ id: id(4), startedAt: old }));
    await lifecycle.recover();
    expect(await lifecycle.takeOver(['r-dead'])).toBe(1);
    expect(await lifecycle.takeOver(['r-dead'])).toBe(0);
    expect(seen.map((e) => [e.event, (e.args[0] as SessionRecord).id])).toEqual([
      ['interrupted', id(1)],
      ['interrupted', id(2)],
    ]);
    expect(seen[1]!.args[0]).toEqual(await store.getSession(id(2)));
    expect(seen[1]!.args[0]).toMatchObject({
      state: 'interrupted',
      error: 'the recorder replica recording this session stopped',
    });
    expect((await store.getSession(id(4)))?.state).toBe('interrupted');
    expect((await store.getSession(id(3)))?.state).toBe('running');
  });
});
