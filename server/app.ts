// Builds a running recorder from settings: store, Kubernetes client, authentication, routes,
// HTTPS server. main.ts and the test helper both start the recorder through here.
import { mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { errorMessage } from '../common/errors.ts';
import { createAccessReviewer } from './auth/access.ts';
import { createAuthenticator } from './auth/authenticator.ts';
import { pemFingerprints } from './auth/clientcert.ts';
import { SessionAccess } from './auth/session-access.ts';
import { TokenReviewer } from './auth/tokenreview.ts';
import type { Settings } from './config.ts';
import { registerHealth } from './health.ts';
import { answerClientError } from './http/client-error.ts';
import { Router } from './http/router.ts';
import { KubeClient } from './kube/client.ts';
import { selfName } from './kube/self-name.ts';
import { createMetrics } from './metrics.ts';
import { type ModuleDeps, type Modules, registerModules } from './modules.ts';
import { loadPolicy, type Policy } from './policy.ts';
import { Drain } from './replicas/drain.ts';
import { FORWARDED_ROUTES, sessionForwarder } from './replicas/forward.ts';
import { Jobs } from './replicas/jobs.ts';
import { HEARTBEAT_MS, ReplicaPresence } from './replicas/presence.ts';
import { SessionEvents } from './sessions/bus.ts';
import type { SessionLifecycle } from './sessions/lifecycle.ts';
import { registerSessionRoutes } from './sessions/routes.ts';
import { LiveSessions, type SessionServices } from './sessions/services.ts';
import { openObjectStore } from './storage/open.ts';
import { RecordingFiles } from './storage/recording-files.ts';
import { DiskReserve } from './store/disk.ts';
import { openStore } from './store/open.ts';
import type { RecorderStore } from './store/store.ts';
import { serverIdentity, type TlsIdentity } from './tls.ts';

export interface Recorder {
  /** https://host:port as reachable locally (publicUrl when configured) */
  url: string;
  port: number;
  tls: TlsIdentity;
  router: Router;
  store: RecorderStore;
  /** The data disk's reserve and fullness (store/disk.ts). */
  disk: DiskReserve;
  services: SessionServices;
  modules: Modules;
  server: Server;
  /** This replica among the others sharing the store. */
  presence: ReplicaPresence;
  /** Stops accepting, ends live sessions as interrupted with `message`, flushes, closes the store. */
  close(message?: string): Promise<void>;
  /**
   * SIGTERM: takes no new sessions (readiness false, REPLICA_DRAINING), lets the open ones run for
   * up to `timeoutMs`, then closes, ending those still open with `message`.
   */
  drain(timeoutMs: number, message?: string): Promise<void>;
}

export interface RecorderOverrides {
  kube?: KubeClient;
  policy?: Policy;
  log?: (line: string) => void;
  /** Where shim events come from; default: the shim-ingestion store. */
  events?: ModuleDeps['events'];
}

export async function createRecorder(
  settings: Settings,
  overrides: RecorderOverrides = {},
): Promise<Recorder> {
  const log = overrides.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const kube = overrides.kube ?? KubeClient.load({ ...pick(settings, 'kubeconfig', 'context') });
  const policy = overrides.policy ?? (await loadPolicy(settings.policyFile));
  const trust = await loadTrust(settings, kube);
  const tls = await serverIdentity(settings);
  const disk = reserveDisk(settings.dataDir, log);
  const objects = await objectStoreFor(settings, log);
  const store = await openStore({
    database: settings.database,
    dataDir: settings.dataDir,
    objects,
    onDiskFull: () => disk.release(),
    log,
  });
  const metrics = createMetrics();
  const jobs = new Jobs({ lock: store.jobs, ran: (job) => metrics.jobRan(job), log });
  const recordings = new RecordingFiles({ dataDir: settings.dataDir, objects });
  const services = sessionServices(settings, { kube, store, policy, log, jobs, recordings });
  const authenticator = authenticatorFor(settings, kube, trust);
  const router = new Router({
    authenticator,
    onError: (err, req) =>
      log(
        `error: ${req.method} ${req.url}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
      ),
  });
  const state = { closing: false };
  const drain = new Drain();
  registerHealth({ router, store, disk, closing: () => state.closing, draining: () => drain.active });
  const { lifecycle: sessions, terminate } = registerSessionRoutes(router, services);
  const modules = await registerModules({
    settings,
    router,
    store,
    services,
    authenticator,
    metrics,
    log,
    terminate,
    ...(objects ? { objects } : {}),
    ...(overrides.events ? { events: overrides.events } : {}),
    ...(trust.admissionCa ? { admissionCallerCa: trust.admissionCa } : {}),
    ...(trust.clientCa ? { clientCa: trust.clientCa } : {}),
  });
  // After the modules subscribed (the SIEM export tells each recovered session's end), before listening.
  await sessions.recover();
  const server = await listen({ settings, tls, router, cas: trust.all, drain });
  const port = (server.address() as AddressInfo).port;
  const localUrl = urlOf(settings.host, port);
  const presence = await joinReplicas({ settings, store, router, tls, log, url: localUrl });
  const timers = startTimers({ settings, modules, sessions, disk, jobs, presence, recordings, store, log });
  const close = shutdown({ server, services, modules, store, timers, state, presence });

  return {
    url: settings.publicUrl ?? localUrl,
    port,
    tls,
    router,
    store,
    disk,
    services,
    modules,
    server,
    presence,
    close,
    async drain(timeoutMs, message) {
      const open = services.live.size;
      if (timeoutMs > 0) log(`draining: up to ${timeoutMs / 1000} s for ${open} open session(s)`);
      const running = drain.run({ timeoutMs, live: services.live });
      server.closeIdleConnections();
      await running;
      await close(message);
    },
  };
}

function pruneLocalCopies(recordings: RecordingFiles, store: RecorderStore, log: (line: string) => void) {
  return setInterval(
    () =>
      void recordings
        .pruneLocal(async (id) => (await store.getSession(id)) !== undefined)
        .then((n) => n && log(`retention: removed ${n} local recording copies of deleted sessions`))
        .catch((err) => log(`retention: local copies: ${errorMessage(err)}`)),
    3_600_000,
  ).unref();
}

/** The object store of --object-store, its state at start said in the log (a bucket that does not
 *  answer delays uploads; it does not stop the recorder). */
async function objectStoreFor(settings: Settings, log: (line: string) => void) {
  const objects = openObjectStore(settings);
  if (!objects && settings.database) {
    log(
      'warning: --database without --object-store: recordings and evidence bundles stay on this ' +
        "replica's volume, and other replicas cannot serve them",
    );
  }
  const problem = await objects?.check();
  if (problem) log(`warning: ${problem}; recordings wait on this replica's volume until it answers`);
  return objects;
}

/** The embedded database shares its disk with the recordings: a reserve keeps room for final states. */
function reserveDisk(dataDir: string, log: (line: string) => void): DiskReserve {
  mkdirSync(dataDir, { recursive: true });
  const disk = new DiskReserve({ dataDir, log });
  disk.start();
  return disk;
}

function urlOf(host: string, port: number): string {
  const local = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `https://${local.includes(':') ? `[${local}]` : local}:${port}`;
}

function authenticatorFor(
  settings: Settings,
  kube: KubeClient,
  trust: Awaited<ReturnType<typeof loadTrust>>,
) {
  return createAuthenticator({
    tokens: new TokenReviewer({ kube, cacheMs: settings.tokenCacheMs }),
    // A certificate from a separate admission CA identifies the apiserver to the webhook, no user.
    ...(trust.admissionCa !== trust.clientCa
      ? { certificateAnchors: trust.clientCa ? pemFingerprints(trust.clientCa) : new Set<string>() }
      : {}),
  });
}

/**
 * This replica joins the others sharing the store: it heartbeats (so the others know it is alive
 * and where to reach it), and, with a shared database, requests about a session another live
 * replica records right now are answered by that replica.
 */
async function joinReplicas(o: {
  settings: Settings;
  store: RecorderStore;
  router: Router;
  tls: TlsIdentity;
  url: string;
  log: (line: string) => void;
}): Promise<ReplicaPresence> {
  const presence = new ReplicaPresence({
    self: { id: o.settings.replicaId, url: o.settings.advertiseUrl ?? o.url },
    registry: o.store.replicas,
    log: o.log,
  });
  await presence.start();
  // The embedded store belongs to this one process: no other replica can record a session, and a
  // session request need not be looked up once more before its route.
  if (!o.settings.database) return presence;
  const forward = sessionForwarder({ store: o.store, presence, fingerprint: o.tls.fingerprint, log: o.log });
  for (const [method, pattern] of FORWARDED_ROUTES) o.router.forward(method, pattern, forward);
  return presence;
}

function sessionServices(
  settings: Settings,
  o: Pick<SessionServices, 'kube' | 'store' | 'policy' | 'recordings'> & {
    log: (line: string) => void;
    jobs: Jobs;
  },
): SessionServices {
  return {
    ...o,
    replica: settings.replicaId,
    access: new SessionAccess({ reviewer: createAccessReviewer(o.kube) }),
    dataDir: settings.dataDir,
    streamTimeoutMs: settings.streamTimeoutMs,
    clock: () => new Date(),
    impersonator: selfName(o.kube, o.log),
    live: new LiveSessions(),
    impersonationDeniedGroups: settings.impersonationDeniedGroups,
    events: new SessionEvents({ log: o.log }),
    nodeDebug: {
      namespace: settings.debugNamespace,
      image: settings.debugImage,
      podTimeoutMs: settings.debugPodTimeoutMs,
    },
  };
}

/** Stops accepting, ends live sessions with `message`, signs what is queued, closes the store. */
function shutdown(o: {
  server: Server;
  services: SessionServices;
  modules: Modules;
  store: RecorderStore;
  timers: { stop(): void };
  presence: ReplicaPresence;
  /** Read by /readyz. */
  state: { closing: boolean };
}): (message?: string) => Promise<void> {
  return async (message = 'the recorder is shutting down') => {
    if (o.state.closing) return;
    o.state.closing = true;
    // Shim sockets are upgraded connections: server.close() would wait for them forever.
    o.modules.shim.ingest.close();
    o.timers.stop();
    const stopped = new Promise<void>((r) => o.server.close(() => r()));
    await o.services.live.stopAll(message);
    o.server.closeIdleConnections();
    // Sockets still open after the sessions ended (keep-alive mid-request) must not hold shutdown.
    const t = setTimeout(() => o.server.closeAllConnections(), 2000);
    await stopped;
    clearTimeout(t);
    await o.modules.drain();
    // Its sessions are stored as ended: nothing of this replica is left for another to take over.
    await o.presence.stop();
    await o.store.close();
  };
}

/** The CAs whose client certificates the recorder trusts: users' and the apiserver's (webhook). */
async function loadTrust(settings: Settings, kube: KubeClient) {
  const clientCa = settings.clientCaFile
    ? await readFile(settings.clientCaFile, 'utf8')
    : await kube.clusterCaPem();
  // The webhook's caller (the apiserver) may hold a certificate from a CA of its own.
  const admissionCa = settings.admissionClientCaFile
    ? await readFile(settings.admissionClientCaFile, 'utf8')
    : clientCa;
  const all = [...new Set([clientCa, admissionCa].filter((c): c is string => Boolean(c)))];
  return { clientCa, admissionCa, all };
}

/** The recorder's periodic work: retention, unopened sessions, a dead replica's sessions, the disk
 *  reserve. The first three run once across replicas (replicas/jobs.ts). */
function startTimers(o: {
  settings: Settings;
  modules: Modules;
  sessions: SessionLifecycle;
  disk: DiskReserve;
  jobs: Jobs;
  presence: ReplicaPresence;
  recordings: RecordingFiles;
  store: RecorderStore;
  log: (line: string) => void;
}): { stop(): void } {
  const { settings, modules, jobs, log } = o;
  const days = settings.retentionDays;
  const retention = days
    ? jobs.every('retention', 3_600_000, async () => {
        const n = await modules.sweepRetention();
        if (n) log(`retention: deleted ${n} session(s) past ${days} days`);
      })
    : undefined;
  // Retention ran on one replica; every replica clears its own copies of what it deleted.
  const localCopies = days ? pruneLocalCopies(o.recordings, o.store, log) : undefined;
  // A replica whose lease ran out left sessions open: end them, whichever replica notices first.
  const takeOver = async () => {
    const dead = await o.presence.dead();
    const n = await o.sessions.takeOver(dead);
    o.modules.metrics.sessionsTakenOver(n);
    // Taken over: a replica that comes back under the same name registers itself again.
    await o.presence.forget(dead);
    if (n) log(`ended ${n} session(s) of replicas that stopped answering as interrupted`);
  };
  void jobs.run('replica-takeover', takeOver).catch((err) => log(`replica-takeover: ${errorMessage(err)}`));
  const takeovers = jobs.every('replica-takeover', 2 * HEARTBEAT_MS, takeOver);
  // Sessions whose stream was never opened (plugin killed after the POST) end here, not at a restart.
  o.sessions.start();
  // Puts the disk reserve back once an operator freed space (check() rewrites it).
  const disk = setInterval(() => o.disk.check(), 10_000).unref();
  return {
    stop() {
      retention?.stop();
      if (localCopies) clearInterval(localCopies);
      takeovers.stop();
      o.sessions.close();
      clearInterval(disk);
    },
  };
}

async function listen(o: {
  settings: Settings;
  tls: TlsIdentity;
  router: Router;
  cas: string[];
  drain: Drain;
}) {
  const server = createServer(
    {
      cert: o.tls.cert,
      key: o.tls.key,
      // Ask for a client certificate but let token users through; userFromCertificate trusts it only if authorized.
      requestCert: o.cas.length > 0,
      rejectUnauthorized: false,
      ...(o.cas.length ? { ca: o.cas } : {}),
    },
    (req, res) => {
      o.drain.seen(req);
      // Draining: each answer closes its connection, so the client's next request is balanced
      // onto another replica rather than kept on this one.
      if (o.drain.active) res.setHeader('Connection', 'close');
      void o.router.handle(req, res);
    },
  );
  server.on('upgrade', (req, socket, head) => {
    o.drain.seen(req);
    void o.router.handleUpgrade(req, socket, head);
  });
  server.on('clientError', answerClientError);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.settings.port, o.settings.host, () => resolve());
  });
  return server;
}

function pick<T extends object, K extends keyof T>(o: T, ...keys: K[]): { [P in K]?: NonNullable<T[P]> } {
  const out: Partial<T> = {};
  for (const k of keys) if (o[k] !== undefined && o[k] !== null) out[k] = o[k];
  return out as never;
}
