// In-memory stand-ins for the session code's seams: a WebSocket on either side of a relay, a store,
// a recording sink, a KubeClient and a stream opener. No sockets, no root, no runc.
import type { RawData } from 'ws';
import { Channel, encodeFrame } from '../../../common/channel.ts';
import type { SessionList, SessionRecord } from '../../../common/wire.ts';
import type { KubeClient, KubeRequest, KubeResponse } from '../../../server/kube/client.ts';
import type { RecordingWriter } from '../../../server/recording/writer.ts';
import type { OpenContext } from '../../../server/sessions/driver.ts';
import { ChannelEmitter, type ChannelSocket } from '../../../server/sessions/socket.ts';
import type { StreamOpener, StreamRequest, UpstreamResult } from '../../../server/sessions/upstream.ts';
import type { InterruptedSession, Store } from '../../../server/store/store.ts';

/** One end of a WebSocket: what the code under test sends is in `sent`; `receive` delivers a frame. */
export class FakeSocket extends ChannelEmitter implements ChannelSocket {
  readonly sent: Buffer[] = [];
  readyState = 1;
  bufferedAmount = 0;
  isPaused = false;
  closeCode: number | undefined;
  terminated = false;
  readonly protocol: string;

  constructor(protocol = 'v5.channel.k8s.io') {
    super();
    this.protocol = protocol;
  }

  send(data: Buffer, _options?: { binary?: boolean }, cb?: (err?: Error) => void): void {
    this.sent.push(Buffer.from(data));
    cb?.();
    this.emit('sent');
  }
  pause(): void {
    this.isPaused = true;
  }
  resume(): void {
    this.isPaused = false;
  }
  close(code?: number): void {
    if (this.readyState === 3) return;
    this.closeCode = code;
    this.#closed();
  }
  terminate(): void {
    this.terminated = true;
    this.#closed();
  }

  /** A frame from the peer. */
  receive(data: Buffer): void {
    this.emit('message', data as RawData, true);
  }
  /** The peer closes. */
  hangUp(): void {
    this.#closed();
  }

  /** Frames sent on `channel`, as text. */
  textOn(channel: number): string {
    return this.sent
      .filter((b) => b[0] === channel)
      .map((b) => b.subarray(1).toString('utf8'))
      .join('');
  }

  #closed(): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    // As ws does: 'close' comes asynchronously.
    queueMicrotask(() => this.emit('close', this.closeCode ?? 1006));
  }
}

export const stdout = (text: string) => encodeFrame(Channel.stdout, text);
export const stdin = (text: string) => encodeFrame(Channel.stdin, text);
export const exitStatus = (code: number) =>
  encodeFrame(
    Channel.status,
    JSON.stringify(
      code === 0
        ? { status: 'Success' }
        : {
            status: 'Failure',
            reason: 'NonZeroExitCode',
            details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
          },
    ),
  );

/** Resolves once `socket` was sent a frame on `channel` whose text contains `text`. */
export function sentOn(socket: FakeSocket, channel: number, text = ''): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      if (!socket.textOn(channel).includes(text)) return;
      socket.off('sent', check);
      resolve();
    };
    socket.on('sent', check);
    check();
  });
}

/** The Store, in a Map: enough for the lifecycle. */
export class MemoryStore implements Store {
  readonly rows = new Map<string, SessionRecord>();

  async insertSession(record: SessionRecord): Promise<void> {
    this.rows.set(record.id, { ...record });
  }
  async updateSession(id: string, patch: Partial<SessionRecord>): Promise<void> {
    const row = this.rows.get(id);
    if (row) this.rows.set(id, { ...row, ...patch });
  }
  async transitionSession(id: string, from: SessionRecord['state'], patch: Partial<SessionRecord>) {
    const row = this.rows.get(id);
    if (row?.state !== from) return false;
    this.rows.set(id, { ...row, ...patch });
    return true;
  }
  async getSession(id: string): Promise<SessionRecord | undefined> {
    const row = this.rows.get(id);
    return row ? { ...row } : undefined;
  }
  async listSessions(filter: { state?: string; until?: string }): Promise<SessionList> {
    const items = [...this.rows.values()].filter(
      (r) => (!filter.state || r.state === filter.state) && (!filter.until || r.startedAt <= filter.until),
    );
    return { items } as SessionList;
  }
  async listSessionsEndedBefore(): Promise<SessionRecord[]> {
    return [];
  }
  async deleteSession(id: string): Promise<void> {
    this.rows.delete(id);
  }
  async interruptStale(o: Parameters<Store['interruptStale']>[0]): Promise<InterruptedSession[]> {
    const marked: InterruptedSession[] = [];
    for (const row of this.rows.values()) {
      const stale =
        row.state === 'pending' ? row.startedAt < o.pendingBefore : o.running && row.state === 'running';
      if (!stale || (o.replicas && row.replica && !o.replicas.includes(row.replica))) continue;
      const session = { ...row, state: 'interrupted' as const, error: o.error, endedAt: o.endedAt };
      this.rows.set(row.id, session);
      marked.push({ session: { ...session }, was: row.state === 'pending' ? 'pending' : 'running' });
    }
    return marked;
  }
  async close(): Promise<void> {}
}

/** Answers KubeClient.request from a handler; the requests made are in `requests`. */
export function fakeKube(
  answer: (r: KubeRequest) => Partial<KubeResponse> & { status: number },
): KubeClient & { requests: KubeRequest[] } {
  const requests: KubeRequest[] = [];
  const kube = {
    requests,
    async request(r: KubeRequest) {
      requests.push(r);
      const a = answer(r);
      const text = a.text ?? (a.body === undefined ? '' : JSON.stringify(a.body));
      return { body: undefined, text, bytes: Buffer.from(text), ...a };
    },
  };
  return kube as unknown as KubeClient & { requests: KubeRequest[] };
}

/** Opens streams from a handler; the requests made are in `requests`. */
export function fakeStreams(answer: (r: StreamRequest) => UpstreamResult): StreamOpener & {
  requests: StreamRequest[];
} {
  const requests: StreamRequest[] = [];
  const open = async (r: StreamRequest) => {
    requests.push(r);
    return answer(r);
  };
  return Object.assign(open, { requests });
}

export function session(patch: Partial<SessionRecord> = {}): SessionRecord {
  return {
    id: '0b7e3a52-4c1d-4f6e-9a2b-3c4d5e6f7a8b',
    kind: 'exec',
    state: 'pending',
    user: 'alice',
    groups: ['dev', 'system:authenticated'],
    command: ['sh'],
    tty: false,
    stdin: true,
    attribution: 'marker',
    auditId: '0b7e3a52-4c1d-4f6e-9a2b-3c4d5e6f7a8b',
    startedAt: new Date().toISOString(),
    recordInput: false,
    namespace: 'default',
    pod: 'web',
    container: 'app',
    ...patch,
  };
}

/** What a driver sees of the lifecycle while it opens a session. */
export class FakeOpenContext implements OpenContext {
  readonly session: SessionRecord;
  readonly abort = new AbortController();
  readonly client = new FakeSocket();
  readonly told: string[] = [];
  readonly updates: Partial<SessionRecord>[] = [];
  readonly output: Buffer[] = [];
  title: string | undefined;
  accepted = false;

  constructor(s: SessionRecord) {
    this.session = s;
  }
  get signal(): AbortSignal {
    return this.abort.signal;
  }
  async recording(title: string): Promise<RecordingWriter> {
    this.title = title;
    const output = this.output;
    return {
      failure: null,
      output: (_stream: 1 | 2, bytes: Uint8Array) => output.push(Buffer.from(bytes)),
    } as unknown as RecordingWriter;
  }
  accept(): ChannelSocket {
    this.accepted = true;
    return this.client;
  }
  tell(text: string): void {
    this.told.push(text);
  }
  async update(patch: Partial<SessionRecord>): Promise<void> {
    this.updates.push(patch);
  }
}
