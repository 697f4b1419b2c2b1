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
import { AuditedExecError, errorMessage } from '../../common/errors.ts';
import { describeMissing } from '../../common/missing-range.ts';
import type { ServerToShim } from '../../common/shim-protocol.ts';
import { failureStatus } from '../../common/status.ts';
import type { SessionRecord, ShimEvent } from '../../common/wire.ts';
import { bearerToken } from '../auth/authenticator.ts';
import type { EventStore } from '../events/store.ts';
import type { Router, UpgradeContext } from '../http/router.ts';
import type { KubeClient } from '../kube/client.ts';
import type { Metrics } from '../metrics.ts';
import type { InferredExec, SessionEvents } from '../sessions/bus.ts';
import type { Store } from '../store/store.ts';
import { reviewShimToken, SHIM_AUDIENCE, SHIM_SERVICE_ACCOUNT } from './auth.ts';
import { createPodResolver, type PodResolver } from './pods.ts';
import { asMismatchAlert, claimedSession, sessionMismatch } from './session-check.ts';
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

export interface ShimIngestStats {
  connections: number;
  stored: number;
  duplicates: number;
  /** messages refused because they named another node */
  refusedForeignNode: number;
  /** messages refused as malformed */
  refusedMalformed: number;
  /** unrecorded-exec alerts not stored: the pod's own exec probes and lifecycle hooks */
  declaredExecs: number;
  /** events naming a session whose node or container they do not share: stored as alerts */
  sessionMismatches: number;
}

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
  const pods = o.pods ?? createPodResolver({ kube: o.kube });
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 64 << 20 });
  const byNode = new Map<string, Set<WebSocket>>();
  const stats: ShimIngestStats = {
    connections: 0,
    stored: 0,
    duplicates: 0,
    refusedForeignNode: 0,
    refusedMalformed: 0,
    declaredExecs: 0,
    sessionMismatches: 0,
  };

  const send = (ws: WebSocket, msg: ServerToShim) => ws.send(JSON.stringify(msg));
  const refuse = (ws: WebSocket, code: number, message: string, reason: string) => {
    send(ws, { type: 'error', status: failureStatus(code, message) });
    ws.close(POLICY_VIOLATION, reason);
  };

  async function store(node: string, batch: ShimEvent[]): Promise<number> {
    const unknownPods = batch
      .filter((e) => e.containerId !== null && (e.kind === 'alert' || e.exec?.session === null))
      .map((e) => e.containerId!);
    // Whether an unrecorded-exec is the kubelet running the pod's probe decides whether it is kept:
    // a container that just started may be in the pod list a second later.
    const soon = batch.some((e) => e.alert?.alert === 'unrecorded-exec');
    if (unknownPods.length > 0) await pods.prepare(node, unknownPods, { soon });
    const kept = batch.filter((e) => !declaredExec(e));
    stats.declaredExecs += batch.length - kept.length;
    const events = await checkSessions(node, kept);
    const affected = await sessionsMissingEvents(node, events);
    const result = await o.events.insert(events, {
      receivedAt: o.clock().toISOString(),
      podOf: (e) => (e.containerId ? pods.lookup(e.containerId) : null),
      alsoFor: (e) => affected.get(e) ?? [],
    });
    stats.stored += result.inserted;
    stats.duplicates += result.duplicates;
    const finished: string[] = [];
    for (const id of result.sessions) {
      const session = await o.store.getSession(id);
      if (!session) continue; // a marker naming no session we know: stored, counted nowhere
      await o.store.updateSession(id, await o.events.counts(id));
      if (session.state !== 'pending' && session.state !== 'running') finished.push(id);
    }
    const last = batch.at(-1);
    if (last) o.metrics?.shimLag(node, Math.max(0, o.clock().getTime() / 1000 - Number(last.auditTime)));
    if (finished.length > 0) o.sessions?.emit('eventsArrived', finished);
    return batch.reduce((max, e) => Math.max(max, e.seq), 0);
  }

  /** The pod's own probe or hook, run by the kubelet: not a person's activity, not stored. A human
   *  running exactly that argv looks the same (deploy/README.md, "Unrecorded activity"). */
  function declaredExec(e: ShimEvent): boolean {
    return (
      e.alert?.alert === 'unrecorded-exec' &&
      e.containerId !== null &&
      pods.isDeclaredExec(e.containerId, e.alert.argv)
    );
  }

  /** Each event that names a session as its own, checked against that session's node and container;
   *  one that fails becomes a session-mismatch alert (session-check.ts). */
  async function checkSessions(node: string, events: ShimEvent[]): Promise<ShimEvent[]> {
    const sessions = new Map<string, SessionRecord | undefined>();
    for (const e of events) {
      const id = claimedSession(e);
      if (id !== null && !sessions.has(id)) sessions.set(id, await o.store.getSession(id));
    }
    if (sessions.size === 0) return events;
    // A container that is not the session's recorded one may still be its (restarted, or the id was
    // unknown at create): the node's pod list says.
    const elsewhere = events.flatMap((e) => {
      const id = claimedSession(e);
      const s = id === null ? undefined : sessions.get(id);
      return s && e.containerId !== null && e.containerId !== s.containerId ? [e.containerId] : [];
    });
    if (elsewhere.length > 0) await pods.prepare(node, elsewhere, { soon: true });
    return events.map((e) => {
      const id = claimedSession(e);
      if (id === null) return e;
      const s = sessions.get(id);
      const reason = sessionMismatch(e, s, (c) => pods.container(c));
      if (reason === null) return e;
      stats.sessionMismatches++;
      o.log(
        `shim on ${node}: an ${e.kind} (${(e.exec ?? e.alert)?.argv.join(' ')}) in container ${e.containerId ?? 'unknown'} names session ${id} (${reason}); stored as a session-mismatch alert`,
      );
      return asMismatchAlert(e, id, s, reason);
    });
  }

  /** For each events-missing alert: the sessions on the node whose time its range overlaps (any
   *  of their commands may be in it; the event store lists the alert with them), so their counts
   *  and evidence are updated. Logged and counted per delivery (a resend after a reconnect counts
   *  again; the store keeps one row). */
  async function sessionsMissingEvents(node: string, events: ShimEvent[]): Promise<Map<ShimEvent, string[]>> {
    const out = new Map<ShimEvent, string[]>();
    for (const e of events) {
      const range = e.alert?.alert === 'events-missing' ? e.alert.missing : undefined;
      if (range === undefined) continue;
      const from = range.from ?? range.to;
      const ids: string[] = [];
      let page: string | undefined;
      do {
        const list = await o.store.listSessions({ node, until: range.to, limit: 500, continue: page });
        for (const s of list.items) if (s.endedAt === undefined || s.endedAt >= from) ids.push(s.id);
        page = list.continue;
      } while (page !== undefined);
      out.set(e, ids);
      o.log(`shim on ${node}: ${describeMissing(range)}; sessions affected: ${ids.join(', ') || 'none'}`);
      o.metrics?.shimLostEvents(node, range.toSerial - (range.fromSerial ?? range.toSerial) + 1);
    }
    return out;
  }

  function serve(ws: WebSocket, node: string, username: string): void {
    stats.connections++;
    const peers = byNode.get(node) ?? new Set<WebSocket>();
    byNode.set(node, peers);
    peers.add(ws);
    o.log(`shim connected: node ${node} (${username})`);
    // One message at a time, in order: acks must never overtake an earlier, slower store.
    let queue = Promise.resolve();
    ws.on('message', (data, isBinary) => {
      const text = isBinary ? Buffer.from(data as Buffer).toString('utf8') : String(data);
      queue = queue.then(() => handle(ws, node, text));
    });
    ws.on('close', () => {
      peers.delete(ws);
      if (peers.size === 0 && byNode.get(node) === peers) byNode.delete(node);
      o.log(`shim disconnected: node ${node}`);
    });
    ws.on('error', () => {});
  }

  async function handle(ws: WebSocket, node: string, text: string): Promise<void> {
    if (ws.readyState !== ws.OPEN) return;
    const checked = checkEventsMessage(text);
    if (!checked.ok) {
      stats.refusedMalformed++;
      o.log(`shim on ${node} sent a malformed message: ${checked.problem}`);
      return refuse(ws, 400, `malformed shim message: ${checked.problem}`, 'malformed message');
    }
    const foreign = checked.events.find((e) => e.node !== node);
    if (foreign) {
      stats.refusedForeignNode++;
      o.log(`refused events for node ${foreign.node} from the shim of node ${node}`);
      return refuse(
        ws,
        403,
        `this shim's token is bound to node ${node}; it may not send events for node ${foreign.node}. Nothing of the message was stored.`,
        'events for another node',
      );
    }
    try {
      const seq = await store(node, checked.events);
      if (seq > 0 && ws.readyState === ws.OPEN) send(ws, { type: 'ack', seq });
    } catch (err) {
      // Not acked: the shim keeps the events and resends after reconnecting.
      o.log(`storing shim events from ${node} failed: ${errorMessage(err)}`);
      ws.close(1011, 'store failed');
    }
  }

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
      wss.handleUpgrade(ctx.req, ctx.socket, ctx.head, (ws) => serve(ws, who.node, who.username));
    },
    { auth: false },
  );

  const ingest: ShimIngest = {
    stats,
    nodes: () => [...byNode.keys()],
    expectExec(e) {
      const peers = e.node ? byNode.get(e.node) : undefined;
      if (!e.containerId || !peers || peers.size === 0) {
        o.log(
          `no shim to tell about the unmarked exec of session ${e.session} (node ${e.node ?? 'unknown'})`,
        );
        return false;
      }
      for (const ws of peers)
        send(ws, { type: 'expect-exec', session: e.session, containerId: e.containerId, time: e.time });
      return true;
    },
    close() {
      for (const ws of wss.clients) {
        ws.close(1001, 'recorder shutting down');
        // A shim that does not answer the close must not hold the server's shutdown.
        setTimeout(() => ws.terminate(), 1000).unref();
      }
    },
  };
  o.sessions?.on('inferredExec', (e) => ingest.expectExec(e));
  return ingest;
}
