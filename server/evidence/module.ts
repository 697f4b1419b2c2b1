// The evidence module: the signing key, the signature store, sealing at each session's end and
// again for late shim events (both from the session events), the evidence routes and retention.
// modules.ts calls registerEvidence once.
import type { ShimEvent } from '../../common/wire.ts';
import type { SessionAccess } from '../auth/session-access.ts';
import type { RequestContext, Router } from '../http/router.ts';
import type { SessionEvents } from '../sessions/bus.ts';
import { parseListQuery } from '../sessions/read.ts';
import type { RecordingFiles } from '../storage/recording-files.ts';
import type { RecorderStore } from '../store/store.ts';
import { authorizeEvidence, type EvidenceAuthority, viewableSessions } from './authorize.ts';
import { createEvidence, type Evidence } from './evidence.ts';
import { openRecordingFile } from './recording-file.ts';
import { createRetention } from './retention.ts';
import { getBulkExport, getEvidence, getSigningKey, putLegalHold } from './routes.ts';
import { createSealQueue, type SealQueue } from './seal-queue.ts';
import { loadSigningKey } from './signing-key.ts';
import type { SignatureStore } from './store.ts';

export interface EvidenceDeps {
  router: Router;
  /** sessions, and the signature chains with their bundles */
  store: RecorderStore;
  sessions: SessionEvents;
  access: SessionAccess;
  dataDir: string;
  /** Recordings as local files, wherever they were recorded (storage/recording-files.ts). */
  recordings: RecordingFiles;
  signingKeyFile?: string;
  /** Shim events per session. */
  events: {
    listEvents(sessionId: string): Promise<ShimEvent[]>;
    deleteSession?(sessionId: string): Promise<void>;
  };
  log: (line: string) => void;
}

export interface EvidenceModule {
  evidence: Evidence;
  /** Background signing: at session end, and again (spaced out) for late events. */
  seals: SealQueue;
  /** Deletes recordings past `maxAgeDays` (legal hold excepted); returns how many sessions went. */
  sweepRetention(now: Date, maxAgeDays: number): Promise<number>;
}

export async function registerEvidence(d: EvidenceDeps): Promise<EvidenceModule> {
  const key = await loadSigningKey({
    dataDir: d.dataDir,
    ...(d.signingKeyFile ? { keyFile: d.signingKeyFile } : {}),
  });
  const signatures = signatureMethods(d.store.signatures);
  const getSession = async (id: string) => (await d.store.getSession(id)) ?? null;
  const evidence = createEvidence({
    key,
    store: {
      ...signatures,
      getSession,
      // Read in pieces: a whole recording in memory would OOM the recorder on a 1 GiB session.
      openRecording: async (id) => openRecordingFile(await d.recordings.pathFor(id)),
      listEvents: (id) => d.events.listEvents(id),
    },
  });
  const seals = createSealQueue({
    seal: (id) => evidence.seal(id),
    head: async (id) => (await signatures.listSignatures(id)).at(-1),
    log: d.log,
  });
  // Signing must never hold up the stream's end; a failure is logged and retried on download.
  // Only sessions that ran have a recording to seal.
  d.sessions.on('ended', (s) => {
    if (s.recordingSha256) seals.ended(s.id);
  });
  // Late events for a finished session (nohup'd children) extend its evidence: re-seal.
  d.sessions.on('eventsArrived', (ids) => {
    for (const id of ids) seals.lateEvents(id);
  });

  const authority: EvidenceAuthority = { store: d.store, access: d.access };
  const ctxOf = (ctx: RequestContext) => ({
    params: ctx.params,
    evidence,
    key,
    authorize: authorizeEvidence(authority, ctx.user!),
    setLegalHold: async (id: string, hold: boolean) => {
      await d.store.updateSession(id, { legalHold: hold });
      return getSession(id);
    },
    listSessions: (query: URLSearchParams) => viewableSessions(authority, ctx.user!, parseListQuery(query)),
  });
  d.router
    .get('/.well-known/audited-exec/signing-key', (ctx) => getSigningKey(ctx.req, ctx.res, ctxOf(ctx)), {
      auth: false,
    })
    .get('/api/v1/sessions/:id/evidence', (ctx) => getEvidence(ctx.req, ctx.res, ctxOf(ctx)))
    .route('PUT', '/api/v1/sessions/:id/legal-hold', (ctx) => putLegalHold(ctx.req, ctx.res, ctxOf(ctx)))
    .get('/api/v1/evidence', (ctx) => getBulkExport(ctx.req, ctx.res, ctxOf(ctx)));

  const retention = createRetention({
    store: {
      ...signatures,
      getSession,
      listSessionsEndedBefore: (before) => d.store.listSessionsEndedBefore(before),
      deleteSession: async (id) => {
        await d.recordings.delete(id);
        await d.events.deleteSession?.(id);
        await d.store.deleteSession(id);
      },
    },
  });
  return {
    evidence,
    seals,
    async sweepRetention(now, maxAgeDays) {
      return (await retention.sweep({ now, maxAgeDays })).deleted.length;
    },
  };
}

/** The signature store's methods as plain functions: an engine may be a class (PostgreSQL), whose
 *  methods a spread would not copy. */
function signatureMethods(s: SignatureStore): SignatureStore {
  return {
    listSignatures: (id) => s.listSignatures(id),
    appendSignature: (id, doc, bundle) => s.appendSignature(id, doc, bundle),
    readBundle: (id) => s.readBundle(id),
    deleteEvidence: (id) => s.deleteEvidence(id),
  };
}
