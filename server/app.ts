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
import { answerClientError } from './http/client-error.ts';
import { sendJson } from './http/respond.ts';
import { Router } from './http/router.ts';
import { KubeClient } from './kube/client.ts';
import { type ModuleDeps, type Modules, registerModules } from './modules.ts';
import { loadPolicy, type Policy } from './policy.ts';
import { sweepUnopened } from './sessions/create.ts';
import { cleanupDebugPods } from './sessions/node-debug.ts';
import { registerSessionRoutes } from './sessions/routes.ts';
import { LiveSessions, type SessionServices } from './sessions/services.ts';
import { DISK_FULL_MESSAGE, DiskReserve } from './store/disk.ts';
import { StoreError } from './store/errors.ts';
import { SqliteStore } from './store/sqlite.ts';
import { loadTlsIdentity, type TlsIdentity } from './tls.ts';

export interface Recorder {
  /** https://host:port as reachable locally (publicUrl when configured) */
  url: string;
  port: number;
  tls: TlsIdentity;
  router: Router;
  store: SqliteStore;
  /** The data disk's reserve and fullness (store/disk.ts). */
  disk: DiskReserve;
  services: SessionServices;
  modules: Modules;
  server: Server;
  /** Stops accepting, ends live sessions as interrupted with `message`, flushes, closes the store. */
  close(message?: string): Promise<void>;
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
  const clientCa = settings.clientCaFile
    ? await readFile(settings.clientCaFile, 'utf8')
    : await kube.clusterCaPem();
  // The webhook's caller (the apiserver) may hold a certificate from a CA of its own.
  const admissionCa = settings.admissionClientCaFile
    ? await readFile(settings.admissionClientCaFile, 'utf8')
    : clientCa;
  const trustedCas = [...new Set([clientCa, admissionCa].filter((c): c is string => Boolean(c)))];
  const publicHost = settings.publicUrl ? new URL(settings.publicUrl).hostname : undefined;
  const tls = await loadTlsIdentity({
    dataDir: settings.dataDir,
    ...pick(settings, 'tlsCertFile', 'tlsKeyFile'),
    ...(publicHost ? { hostnames: [publicHost] } : {}),
  });
  // The database shares its disk with the recordings: a reserve keeps room for final states.
  mkdirSync(settings.dataDir, { recursive: true });
  const disk = new DiskReserve({ dataDir: settings.dataDir, log });
  disk.start();
  const store = new SqliteStore({ dataDir: settings.dataDir, onDiskFull: () => disk.release(), log });
  const clock = () => new Date();
  // On a full disk the marks are held in memory and stored once there is room (store/pending.ts).
  await store
    .interruptStale({
      pendingBefore: new Date(Date.now() - settings.streamTimeoutMs).toISOString(),
      running: true,
      error: 'the recorder stopped while this session was open',
      endedAt: clock().toISOString(),
    })
    .then((n) => n && log(`marked ${n} session(s) left open by a previous run as interrupted`))
    .catch((err) =>
      log(`warning: could not mark sessions left open by a previous run: ${errorMessage(err)}`),
    );

  const services: SessionServices = {
    kube,
    store,
    policy,
    access: new SessionAccess({ reviewer: createAccessReviewer(kube) }),
    dataDir: settings.dataDir,
    streamTimeoutMs: settings.streamTimeoutMs,
    clock,
    impersonator: selfName(kube),
    live: new LiveSessions(),
    impersonationDeniedGroups: settings.impersonationDeniedGroups,
    hooks: {},
    nodeDebug: {
      namespace: settings.debugNamespace,
      image: settings.debugImage,
      podTimeoutMs: settings.debugPodTimeoutMs,
    },
    log,
  };
  // Debug pods a crashed run left behind are privileged and unrecorded: remove them (node-debug.ts).
  await cleanupDebugPods({ kube, store, namespace: settings.debugNamespace })
    .then(
      (pods) =>
        pods.length && log(`deleted ${pods.length} debug pod(s) left by a previous run: ${pods.join(', ')}`),
    )
    .catch((err) => log(`warning: ${errorMessage(err)}`));
  const tokens = new TokenReviewer({ kube, cacheMs: settings.tokenCacheMs });
  const authenticator = createAuthenticator({
    tokens,
    // A certificate from a separate admission CA identifies the apiserver to the webhook, no user.
    ...(admissionCa !== clientCa
      ? { certificateAnchors: clientCa ? pemFingerprints(clientCa) : new Set<string>() }
      : {}),
  });
  const router = new Router({
    authenticator,
    onError: (err, req) =>
      log(
        `error: ${req.method} ${req.url}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
      ),
  });
  let closing = false;
  router.get('/healthz', (ctx) => sendJson(ctx.res, 200, { status: 'ok' }), { auth: false });
  router.get(
    '/readyz',
    async (ctx) => {
      const reason = await notReady();
      sendJson(ctx.res, reason ? 503 : 200, reason ? { status: 'not ready', reason } : { status: 'ok' });
    },
    { auth: false },
  );
  const notReady = async (): Promise<string | undefined> => {
    if (closing) return 'the recorder is shutting down';
    const state = disk.check();
    if (state.full) return state.reason;
    return store.readiness();
  };
  // A session on a full disk could not be recorded: refuse it before any pod or exec is touched.
  const roomForSessions = () => {
    const state = disk.check();
    if (state.full) throw new StoreError('STORE_DISK_FULL', DISK_FULL_MESSAGE);
    store.flushPending();
  };
  router.guard('POST', '/api/v1/sessions', roomForSessions);
  router.guard('GET', '/api/v1/sessions/:id/stream', roomForSessions);
  registerSessionRoutes(router, services);
  const modules = await registerModules({
    settings,
    router,
    store,
    services,
    authenticator,
    log,
    ...(overrides.events ? { events: overrides.events } : {}),
    ...(admissionCa ? { admissionCallerCa: admissionCa } : {}),
  });
  const retentionTimer = settings.retentionDays
    ? setInterval(
        () =>
          void modules
            .sweepRetention()
            .then((n) => n && log(`retention: deleted ${n} session(s) past ${settings.retentionDays} days`))
            .catch((err) => log(`retention sweep failed: ${errorMessage(err)}`)),
        3_600_000,
      ).unref()
    : undefined;
  // Sessions whose stream was never opened (plugin killed after the POST) end here, not at a restart.
  const sweepTimer = setInterval(
    () =>
      void sweepUnopened(services)
        .then((n) => n && log(`ended ${n} session(s) whose stream was never opened`))
        .catch((err) => log(`pending-session sweep failed: ${errorMessage(err)}`)),
    settings.streamTimeoutMs,
  ).unref();
  // Puts the disk reserve back once an operator freed space (check() rewrites it).
  const diskTimer = setInterval(() => disk.check(), 10_000).unref();

  const server = createServer(
    {
      cert: tls.cert,
      key: tls.key,
      // Ask for a client certificate but let token users through; userFromCertificate trusts it only if authorized.
      requestCert: trustedCas.length > 0,
      rejectUnauthorized: false,
      ...(trustedCas.length ? { ca: trustedCas } : {}),
    },
    (req, res) => void router.handle(req, res),
  );
  server.on('upgrade', (req, socket, head) => void router.handleUpgrade(req, socket, head));
  server.on('clientError', answerClientError);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.port, settings.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const localHost = settings.host === '0.0.0.0' || settings.host === '::' ? '127.0.0.1' : settings.host;
  const url =
    settings.publicUrl ?? `https://${localHost.includes(':') ? `[${localHost}]` : localHost}:${port}`;

  return {
    url,
    port,
    tls,
    router,
    store,
    disk,
    services,
    modules,
    server,
    async close(message = 'the recorder is shutting down') {
      if (closing) return;
      closing = true;
      // Shim sockets are upgraded connections: server.close() would wait for them forever.
      modules.shim.ingest.close();
      if (retentionTimer) clearInterval(retentionTimer);
      clearInterval(sweepTimer);
      clearInterval(diskTimer);
      const stopped = new Promise<void>((r) => server.close(() => r()));
      await services.live.stopAll(message);
      server.closeIdleConnections();
      // Sockets still open after the sessions ended (keep-alive mid-request) must not hold shutdown.
      const t = setTimeout(() => server.closeAllConnections(), 2000);
      await stopped;
      clearTimeout(t);
      await modules.drain();
      await store.close();
    },
  };
}

/** The recorder's own username (SelfSubjectReview), asked once it is first needed. */
function selfName(kube: KubeClient): () => Promise<string | undefined> {
  let known: string | undefined;
  return async () => {
    if (known) return known;
    try {
      const res = await kube.request<{ status?: { userInfo?: { username?: string } } }>({
        method: 'POST',
        path: '/apis/authentication.k8s.io/v1/selfsubjectreviews',
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
      });
      known = res.body?.status?.userInfo?.username;
    } catch (err) {
      void errorMessage(err);
    }
    return known;
  };
}

function pick<T extends object, K extends keyof T>(o: T, ...keys: K[]): { [P in K]?: NonNullable<T[P]> } {
  const out: Partial<T> = {};
  for (const k of keys) if (o[k] !== undefined && o[k] !== null) out[k] = o[k];
  return out as never;
}
