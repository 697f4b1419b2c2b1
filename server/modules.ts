// The recorder's optional modules on top of sessions: evidence (signing + bundles), the web UI,
// the admission webhook and Prometheus metrics. app.ts calls registerModules once; each module
// keeps its own file, this one only connects them to the router, the store and the hooks.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { SessionKind, SessionRecord, ShimEvent } from '../common/wire.ts';
import { createAdmissionCallerCheck } from './admission/caller.ts';
import { grantOf } from './admission/grants.ts';
import { SessionParams } from './admission/session-params.ts';
import { createAdmissionHandler } from './admission/webhook.ts';
import type { Authenticator } from './auth/authenticator.ts';
import type { SessionAccess } from './auth/session-access.ts';
import type { UserInfo } from './auth/user.ts';
import type { Settings } from './config.ts';
import { createEvidence, type Evidence } from './evidence/evidence.ts';
import { openRecordingFile } from './evidence/recording-file.ts';
import { createRetention } from './evidence/retention.ts';
import {
  type Authorize,
  getBulkExport,
  getEvidence,
  getSigningKey,
  putLegalHold,
} from './evidence/routes.ts';
import { createSealQueue, type SealQueue } from './evidence/seal-queue.ts';
import { loadSigningKey } from './evidence/signing-key.ts';
import { createFileSignatureStore } from './evidence/store.ts';
import type { RequestContext, Router } from './http/router.ts';
import { authorizedMetricsHandler, createMetrics, type Metrics } from './metrics.ts';
import { recordingPath } from './recording/writer.ts';
import { parseListQuery } from './sessions/read.ts';
import type { SessionServices } from './sessions/services.ts';
import { attachShim, type ShimAttachment } from './shim/attach.ts';
import type { SqliteStore } from './store/sqlite.ts';
import { eventsFromStore, uiEventSource } from './ui/events-source.ts';
import { registerUi } from './ui/routes.ts';

export interface ModuleDeps {
  settings: Settings;
  router: Router;
  store: SqliteStore;
  services: SessionServices;
  authenticator: Authenticator;
  /** Shim events per session, once shim ingestion is connected. */
  events?: {
    listEvents(sessionId: string): Promise<ShimEvent[]>;
    deleteSession?(sessionId: string): Promise<void>;
  };
  log: (line: string) => void;
  /** PEM of the CA that issues the apiserver's webhook client certificate (admission/caller.ts). */
  admissionCallerCa?: string;
}

export interface Modules {
  evidence: Evidence;
  /** Background signing: at session end, and again (spaced out) for late events. */
  seals: SealQueue;
  shim: ShimAttachment;
  metrics: Metrics;
  access: SessionAccess;
  /** Signs what is queued or waiting for a late link, then resolves (shutdown). */
  drain(): Promise<void>;
  /** Deletes recordings past the retention age (legal hold excepted); no-op without an age. */
  sweepRetention(now?: Date): Promise<number>;
}

export async function registerModules(deps: ModuleDeps): Promise<Modules> {
  const { settings, router, store, services, log } = deps;
  const { access } = services;
  const metrics = createMetrics();
  // Late events for a finished session (nohup'd children) extend its evidence: re-seal.
  let reseal = (_ids: string[]) => {};
  const shim = attachShim(
    { router, store, services },
    { onEventsStored: (ids) => reseal(ids), metrics, log },
  );
  const events = deps.events ?? shim.events;

  const key = await loadSigningKey({
    dataDir: settings.dataDir,
    ...(settings.signingKeyFile ? { keyFile: settings.signingKeyFile } : {}),
  });
  const signatures = createFileSignatureStore({ dir: join(settings.dataDir, 'evidence') });
  const evidence = createEvidence({
    key,
    store: {
      ...signatures,
      getSession: async (id) => (await store.getSession(id)) ?? null,
      // Read in pieces: a whole recording in memory would OOM the recorder on a 1 GiB session.
      openRecording: (id) => openRecordingFile(recordingPath(settings.dataDir, id)),
      listEvents: (id) => events.listEvents(id),
    },
  });

  const seals = createSealQueue({
    seal: (id) => evidence.seal(id),
    head: async (id) => (await signatures.listSignatures(id)).at(-1),
    log,
  });
  reseal = (ids) => {
    for (const id of ids) seals.lateEvents(id);
  };

  const kinds = new Map<string, SessionKind>();
  const previous = { ...services.hooks };
  services.hooks.onSessionStarted = (session) => {
    kinds.set(session.id, session.kind);
    metrics.sessionStarted(session.kind);
    previous.onSessionStarted?.(session);
  };
  // The admission policy's params: the store's open sessions, published as a ConfigMap.
  const sessionParams = settings.admissionParams
    ? new SessionParams({ kube: services.kube, store, ...settings.admissionParams, log })
    : undefined;
  if (sessionParams) services.admissionParams = sessionParams;
  sessionParams?.start();
  services.hooks.onSessionEnded = (id, state) => {
    // An ended session's marker must stop passing the policy as soon as possible.
    void sessionParams?.publish();
    const kind = kinds.get(id) ?? 'exec';
    kinds.delete(id);
    metrics.sessionEnded(kind, state === 'ended' ? 'ended' : 'interrupted');
    void store.getSession(id).then((s) => {
      if (s?.recordingBytes) metrics.recordedBytes(s.recordingBytes);
      if (s?.error && /disk|space|write|record/i.test(s.error)) metrics.recordingFailed();
    });
    // Signing must never hold up the stream's end; a failure is logged and retried on download.
    seals.ended(id);
    previous.onSessionEnded?.(id, state);
  };

  const authorizeAs =
    (user: UserInfo): Authorize =>
    async (_req, request) => {
      if (request.action === 'evidence:export') return { allowed: true, user: user.username };
      const s = request.sessionId ? await store.getSession(request.sessionId) : null;
      if (!s) return { allowed: true, user: user.username }; // the handler answers 404 itself
      if (request.action === 'evidence:read') {
        return { allowed: await access.canView(user, s), user: user.username };
      }
      // Legal hold changes what retention may delete: never the owner's own call.
      return { allowed: await access.mayUpdate(user, s), user: user.username };
    };
  const evidenceCtx = (ctx: RequestContext) => ({
    params: ctx.params,
    evidence,
    key,
    authorize: authorizeAs(ctx.user!),
    setLegalHold: async (id: string, hold: boolean) => {
      await store.updateSession(id, { legalHold: hold });
      return (await store.getSession(id)) ?? null;
    },
    // Bulk export: every matching session the caller may see, never more.
    listSessions: async (query: URLSearchParams) => {
      const out: SessionRecord[] = [];
      const filter = parseListQuery(query);
      for (;;) {
        const page = await store.listSessions(filter);
        const keep = await access.keep(ctx.user!, page.items);
        out.push(...page.items.filter((_, i) => keep[i]));
        if (!page.continue) return out;
        filter.continue = page.continue;
      }
    },
  });
  router.get(
    '/.well-known/audited-exec/signing-key',
    (ctx) => getSigningKey(ctx.req, ctx.res, evidenceCtx(ctx)),
    {
      auth: false,
    },
  );
  router.get('/api/v1/sessions/:id/evidence', (ctx) => getEvidence(ctx.req, ctx.res, evidenceCtx(ctx)));
  router.route('PUT', '/api/v1/sessions/:id/legal-hold', (ctx) =>
    putLegalHold(ctx.req, ctx.res, evidenceCtx(ctx)),
  );
  router.get('/api/v1/evidence', (ctx) => getBulkExport(ctx.req, ctx.res, evidenceCtx(ctx)));

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
  });
  router.post('/admission/validate', (ctx) => admission(ctx.req, ctx.res), { auth: false });
  // Prometheus scrapes with its service-account token like any other client, RBAC permitting.
  router.get('/metrics', authorizedMetricsHandler(metrics, services.access));

  await registerUi(router, {
    store,
    authenticator: deps.authenticator,
    access,
    recordingPathFor: (id) => recordingPath(settings.dataDir, id),
    evidence,
    events: deps.events ? eventsFromStore(deps.events) : uiEventSource(shim.events),
    config: {
      publicOrigins: settings.publicUrl ? [new URL(settings.publicUrl).origin] : [],
      webSessions: { reviewIntervalMs: settings.webSessionReviewMs },
    },
  });

  const retention = createRetention({
    store: {
      ...signatures,
      getSession: async (id) => (await store.getSession(id)) ?? null,
      listSessionsEndedBefore: (before) => store.listSessionsEndedBefore(before),
      deleteSession: async (id) => {
        await rm(recordingPath(settings.dataDir, id), { force: true });
        await events.deleteSession?.(id);
        await store.deleteSession(id);
      },
    },
  });
  return {
    evidence,
    seals,
    shim,
    metrics,
    access,
    drain: async () => {
      await sessionParams?.close();
      await seals.drain();
    },
    async sweepRetention(now = new Date()) {
      if (!settings.retentionDays) return 0;
      const r = await retention.sweep({ now, maxAgeDays: settings.retentionDays });
      return r.deleted.length;
    },
  };
}
