// WebSocket /api/v1/shim: node shims deliver attributed execs and alerts (protocol at the top of
// shim/shipper.ts). A shim is authenticated by its projected token (auth.ts) and speaks for its
// own node only: a message naming another node is refused whole, the connection closed with 1008
// and a Status. Stored events are acked by their highest seq; storage is idempotent on the audit
// identity, so the shim's resends after reconnects cost nothing. The recorder's inferred-exec event
// is forwarded to the shims of the session's node. What an event says about its session is a
// process's claim: an exec or alert naming a session of another node or container is stored as a
// session-mismatch alert under that session, never as its command (session-check.ts).
import type { WebSocket } from 'ws';
import { WebSocketServer } from 'ws';
import { ERROR_CODES } from '../../common/error-codes.ts';
import { AuditedExecError, errorMessage } from '../../common/errors.ts';
import type { ServerToShim } from '../../common/shim-protocol.ts';
import { bearerToken } from '../auth/authenticator.ts';
import type { EventStore } from '../events/store.ts';
import { codedStatus } from '../http/respond.ts';
import type { Router, UpgradeContext } from '../http/router.ts';
import type { KubeClient } from '../kube/client.ts';
import type { Metrics } from '../metrics.ts';
import type { InferredExec, SessionEvents } from '../sessions/bus.ts';
import type { Store } from '../store/store.ts';
import { reviewShimToken, SHIM_AUDIENCE, SHIM_SERVICE_ACCOUNT } from './auth.ts';
import { ShimBatchStore, type ShimIngestStats } from './batch-store.ts';
import { createPodResolver, type PodResolver } from './pods.ts';
import { checkEventsMessage } from './validate.ts';

export const POLICY_VIOLATION = 1008;

export interface ShimIngestOptions {
  kube: KubeClient;
  store: Store;
  events: EventStore;
  /** The session events: inferred execs are forwarded to the shims as hints; `eventsArrived` is
   *  told of new events for sessions no longer pending/running (the evidence module re-seals them). */
  sessions?: SessionEvents;
  audience?: string;
  serviceAccounts?: string[];
  pods?: PodResolver;
  metrics?: Pick<Metrics, 'shimLag' | 'shimLostEvents'>;
  log?: (line: string) => void;
  clock?: () => Date;
}

export type { ShimIngestStats } from './batch-store.ts';

export interface ShimIngest {
  readonly stats: ShimIngestStats;
  /** nodes with a shim connected now */
  nodes(): string[];
  /** Sends an expect-exec hint to the shims of the session's node; false when none could take it. */
  expectExec(e: InferredExec): boolean;
  /** Closes every shim connection (call before the HTTPS server closes: upgraded sockets hold it). */
  close(): void;
}

export function registerShimIngest(router: Router, options: ShimIngestOptions): ShimIngest {
  const o = {
    audience: SHIM_AUDIENCE,
    serviceAccounts: [SHIM_SERVICE_ACCOUNT],
    log: (_line: string) => {},
    clock: () => new Date(),
    ...options,
  };
  const ingest = new ShimConnections(o, o.pods ?? createPodResolver({ kube: o.kube }));
  router.upgrade(
    '/api/v1/shim',
    async (ctx: UpgradeContext) => {
      const token = bearerToken(ctx.req);
      if (!token)
        throw new AuditedExecError(
          'SHIM_UNAUTHENTICATED',
          'send the shim service-account token as a bearer token',
        );
      const who = await reviewShimToken(o.kube, token, o);
      ingest.accept(ctx, who.node, who.username);
    },
    { auth: false },
  );
  o.sessions?.on('inferredExec', (e) => ingest.expectExec(e));
  return ingest;
}

type Settled = ShimIngestOptions & Required<Pick<ShimIngestOptions, 'log' | 'clock'>>;

/** The shims connected now, by node: each message handled in order, stored, acked or refused. */
class ShimConnections implements ShimIngest {
  readonly stats: ShimIngestStats = {
    connections: 0,
    stored: 0,
    duplicates: 0,
    refusedForeignNode: 0,
    refusedMalformed: 0,
    declaredExecs: 0,
    sessionMismatches: 0,
  };
  readonly #o: Settled;
  readonly #wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 64 << 20 });
  readonly #byNode = new Map<string, Set<WebSocket>>();
  readonly #batches: ShimBatchStore;

  constructor(o: Settled, pods: PodResolver) {
    this.#o = o;
    this.#batches = new ShimBatchStore({ ...o, pods, stats: this.stats });
  }

  nodes(): string[] {
    return [...this.#byNode.keys()];
  }

  accept(ctx: UpgradeContext, node: string, username: string): void {
    this.#wss.handleUpgrade(ctx.req, ctx.socket, ctx.head, (ws) => this.#serve(ws, node, username));
  }

  expectExec(e: InferredExec): boolean {
    const peers = e.node ? this.#byNode.get(e.node) : undefined;
    if (!e.containerId || !peers || peers.size === 0) {
      this.#o.log(
        `no shim to tell about the unmarked exec of session ${e.session} (node ${e.node ?? 'unknown'})`,
      );
      return false;
    }
    for (const ws of peers)
      send(ws, { type: 'expect-exec', session: e.session, containerId: e.containerId, time: e.time });
    return true;
  }

  close(): void {
    for (const ws of this.#wss.clients) {
      ws.close(1001, 'recorder shutting down');
      // A shim that does not answer the close must not hold the server's shutdown.
      setTimeout(() => ws.terminate(), 1000).unref();
    }
  }

  #serve(ws: WebSocket, node: string, username: string): void {
    this.stats.connections++;
    const peers = this.#byNode.get(node) ?? new Set<WebSocket>();
    this.#byNode.set(node, peers);
    peers.add(ws);
    this.#o.log(`shim connected: node ${node} (${username})`);
    // One message at a time, in order: acks must never overtake an earlier, slower store.
    let queue = Promise.resolve();
    ws.on('message', (data, isBinary) => {
      const text = isBinary ? Buffer.from(data as Buffer).toString('utf8') : String(data);
      queue = queue.then(() => this.#handle(ws, node, text));
    });
    ws.on('close', () => {
      peers.delete(ws);
      if (peers.size === 0 && this.#byNode.get(node) === peers) this.#byNode.delete(node);
      this.#o.log(`shim disconnected: node ${node}`);
    });
    ws.on('error', () => {});
  }

  async #handle(ws: WebSocket, node: string, text: string): Promise<void> {
    if (ws.readyState !== ws.OPEN) return;
    const checked = checkEventsMessage(text);
    if (!checked.ok) {
      this.stats.refusedMalformed++;
      this.#o.log(`shim on ${node} sent a malformed message: ${checked.problem}`);
      return refuse(ws, 'SHIM_MALFORMED', `malformed shim message: ${checked.problem}`, 'malformed message');
    }
    const foreign = checked.events.find((e) => e.node !== node);
    if (foreign) {
      this.stats.refusedForeignNode++;
      this.#o.log(`refused events for node ${foreign.node} from the shim of node ${node}`);
      return refuse(
        ws,
        'SHIM_FOREIGN_NODE',
        `this shim's token is bound to node ${node}; it may not send events for node ${foreign.node}. Nothing of the message was stored.`,
        'events for another node',
      );
    }
    try {
      const seq = await this.#batches.store(node, checked.events);
      if (seq > 0 && ws.readyState === ws.OPEN) send(ws, { type: 'ack', seq });
    } catch (err) {
      // Not acked: the shim keeps the events and resends after reconnecting.
      this.#o.log(`storing shim events from ${node} failed: ${errorMessage(err)}`);
      ws.close(1011, 'store failed');
    }
  }
}

function send(ws: WebSocket, msg: ServerToShim): void {
  ws.send(JSON.stringify(msg));
}

/** Refuses a message with its code in the Status (as every refusal carries one) and closes. */
function refuse(
  ws: WebSocket,
  code: 'SHIM_MALFORMED' | 'SHIM_FOREIGN_NODE',
  message: string,
  reason: string,
): void {
  send(ws, { type: 'error', status: codedStatus(ERROR_CODES[code].http, code, message) });
  ws.close(POLICY_VIOLATION, reason);
}
