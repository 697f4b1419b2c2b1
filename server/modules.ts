// The recorder's optional modules on top of sessions: shim ingestion, evidence (signing + bundles),
// the web UI, the admission webhook and Prometheus metrics. app.ts calls registerModules once; each
// module keeps its own file and subscribes to the session events (sessions/bus.ts) itself; this one
// only connects them to the router, the store and each other.
import { join } from 'node:path';
import type { ShimEvent } from '../common/wire.ts';
import { createAdmissionCallerCheck } from './admission/caller.ts';
import { grantOf } from './admission/grants.ts';
import { SessionParams } from './admission/session-params.ts';
import { createAdmissionHandler } from './admission/webhook.ts';
import type { Authenticator } from './auth/authenticator.ts';
import { pemFingerprints } from './auth/clientcert.ts';
import { openOidc } from './auth/oidc/open.ts';
import type { SessionAccess } from './auth/session-access.ts';
import type { Settings } from './config.ts';
import type { Evidence } from './evidence/evidence.ts';
import { registerEvidence } from './evidence/module.ts';
import type { SealQueue } from './evidence/seal-queue.ts';
import type { Router } from './http/router.ts';
import { authorizedMetricsHandler, createMetrics, followSessions, type Metrics } from './metrics.ts';
import type { SessionServices } from './sessions/services.ts';
import type { SessionTerminator } from './sessions/terminate.ts';
import { attachShim, type ShimAttachment } from './shim/attach.ts';
import { SiemExport } from './siem/export.ts';
import type { ObjectStore } from './storage/object-store.ts';
import { RecordingFiles } from './storage/recording-files.ts';
import { attachUploads } from './storage/uploads.ts';
import type { RecorderStore } from './store/store.ts';
import type { UiContext } from './ui/context.ts';
import { eventsFromStore, uiEventSource } from './ui/events-source.ts';
import { registerUi } from './ui/routes.ts';

export interface ModuleDeps {
  settings: Settings;
  router: Router;
  store: RecorderStore;
  services: SessionServices;
  authenticator: Authenticator;
  /** The recorder's metrics; default: a registry of the modules' own. */
  metrics?: Metrics;
  /** Shim events per session, once shim ingestion is connected. */
  events?: {
    listEvents(sessionId: string): Promise<ShimEvent[]>;
    deleteSession?(sessionId: string): Promise<void>;
  };
  log: (line: string) => void;
  /** Where finished recordings go for every replica (--object-store); absent: this data dir only. */
  objects?: ObjectStore;
  /** PEM of the CA that issues the apiserver's webhook client certificate (admission/caller.ts). */
  admissionCallerCa?: string;
  /** PEM of the CA users' (and a trusted proxy's) client certificates chain to. */
  clientCa?: string;
  /** Ending a running session (sessions/terminate.ts), for the UI's Terminate form. */
  terminate?: SessionTerminator;
}

export interface Modules {
  evidence: Evidence;
  /** Background signing: at session end, and again (spaced out) for late events. */
  seals: SealQueue;
  shim: ShimAttachment;
  metrics: Metrics;
  access: SessionAccess;
  /** The web UI (its one-time sign-in links: the local demo signs the browser in with one). */
  ui: UiContext;
  /** Pushes events to the SIEM sinks (--siem-sink); absent without any. */
  siem?: SiemExport;
  /** Signs what is queued or waiting for a late link, then resolves (shutdown). */
  drain(): Promise<void>;
  /** Deletes recordings past the retention age (legal hold excepted); no-op without an age. */
  sweepRetention(now?: Date): Promise<number>;
}

export async function registerModules(deps: ModuleDeps): Promise<Modules> {
  const { settings, router, store, services, log } = deps;
  const { access } = services;
  const metrics = deps.metrics ?? createMetrics();
  followSessions(metrics, services.events);
  // Subscribed before anything can start a session, so no event goes unexported.
  const siem = settings.siemSinks.length ? await startSiem(deps, metrics) : undefined;
  const shim = attachShim({ router, store, services }, { metrics, log });
  const events = deps.events ?? shim.events;
  const recordings = services.recordings ?? new RecordingFiles({ dataDir: settings.dataDir });
  const uploads = deps.objects
    ? attachUploads({
        dataDir: settings.dataDir,
        objects: deps.objects,
        events: services.events,
        metrics,
        log,
      })
    : undefined;
  const evidence = await registerEvidence({
    router,
    store,
    sessions: services.events,
    access,
    dataDir: settings.dataDir,
    recordings,
    ...(settings.signingKeyFile ? { signingKeyFile: settings.signingKeyFile } : {}),
    events,
    log,
  });
  const sessionParams = registerAdmission(deps);
  // Prometheus scrapes with its service-account token like any other client, RBAC permitting.
  router.get('/metrics', authorizedMetricsHandler(metrics, services.access));
  const ui = await registerUi(router, {
    store,
    authenticator: deps.authenticator,
    access,
    recordingPathFor: (id) => recordings.pathFor(id),
    evidence: evidence.evidence,
    ...(deps.terminate ? { terminate: deps.terminate } : {}),
    events: deps.events ? eventsFromStore(deps.events) : uiEventSource(shim.events),
    ...(settings.oidc && settings.publicUrl
      ? { oidc: await openOidc({ settings: settings.oidc, publicUrl: settings.publicUrl }) }
      : {}),
    config: {
      publicOrigins: settings.publicUrl ? [new URL(settings.publicUrl).origin] : [],
      // In the store, so a browser stays signed in (and throttled) whichever replica answers.
      webSessions: { reviewIntervalMs: settings.webSessionReviewMs, store: store.webSessions },
      signInLimit: { store: store.signInFailures },
      ...(settings.trustedProxy
        ? {
            trustedProxy: {
              allowedNames: settings.trustedProxy.names,
              userHeader: settings.trustedProxy.userHeader,
              groupHeader: settings.trustedProxy.groupsHeader,
              // Not any CA the listener trusts (the webhook's may be another): --client-ca only.
              anchors: deps.clientCa ? pemFingerprints(deps.clientCa) : new Set<string>(),
            },
          }
        : {}),
    },
  });
  return {
    evidence: evidence.evidence,
    seals: evidence.seals,
    shim,
    metrics,
    access,
    ui,
    ...(siem ? { siem } : {}),
    drain: async () => {
      await sessionParams?.close();
      await evidence.seals.drain();
      // After the sessions ended (their ended events are spooled); the rest waits for the next start.
      await siem?.close();
      // Waits for an upload in progress; the rest stays journaled on this replica's volume and goes
      // up when it starts again (storage/recording-uploader.ts).
      await uploads?.stop();
    },
    async sweepRetention(now = new Date()) {
      if (!settings.retentionDays) return 0;
      return evidence.sweepRetention(now, settings.retentionDays);
    },
  };
}

async function startSiem(deps: ModuleDeps, metrics: Metrics): Promise<SiemExport> {
  const { settings } = deps;
  const siem = await SiemExport.start({
    dir: join(settings.dataDir, 'siem'),
    sinks: settings.siemSinks,
    spoolBytes: settings.siemSpoolBytes,
    replica: settings.replicaId,
    events: deps.services.events,
    log: deps.log,
  });
  metrics.watchSiem(siem);
  return siem;
}

/** The admission webhook, and the policy's params (the store's open sessions, as a ConfigMap). */
function registerAdmission(deps: ModuleDeps): SessionParams | undefined {
  const { settings, router, store, services, log } = deps;
  const sessionParams = settings.admissionParams
    ? new SessionParams({ kube: services.kube, store, ...settings.admissionParams, log })
    : undefined;
  if (sessionParams) {
    services.admissionParams = sessionParams;
    sessionParams.start();
    // An ended session's marker must stop passing the policy as soon as possible.
    services.events.on('ended', () => void sessionParams.publish());
    services.events.on('interrupted', () => void sessionParams.publish());
  }
  // The apiserver identifies itself to the webhook with its client certificate; it carries no token.
  const admission = createAdmissionHandler({
    policy: { breakGlassGroups: settings.breakGlassGroups, debugNamespace: settings.debugNamespace },
    lookup: async (id) => {
      const s = await store.getSession(id);
      return s ? grantOf(s) : null;
    },
    caller: deps.admissionCallerCa
      ? createAdmissionCallerCheck({ caPem: deps.admissionCallerCa, names: settings.admissionClientNames })
      : () => 'the recorder has no admission client CA configured (--admission-client-ca)',
    onBreakGlass: (use) => services.events.emit('breakGlass', use),
  });
  router.post('/admission/validate', (ctx) => admission(ctx.req, ctx.res), { auth: false });
  return sessionParams;
}
