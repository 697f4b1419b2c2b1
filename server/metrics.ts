// Prometheus metrics of the recorder. One registry per server (not prom-client's global one), so
// tests and several servers in one process do not share counters. The server and the shim ingest
// call the small verbs below; nothing else touches prom-client.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { AuditedExecError } from '../common/errors.ts';
import type { SessionKind } from '../common/wire.ts';
import type { AccessReviewer } from './auth/access.ts';
import type { UserInfo } from './auth/user.ts';
import type { SessionEvents } from './sessions/bus.ts';

/** How a session ended, as a label: the session states that are final, plus `failed-recording`. */
export type SessionOutcome = 'ended' | 'interrupted' | 'refused' | 'terminated';

export interface Metrics {
  readonly registry: Registry;
  sessionStarted(kind: SessionKind): void;
  /** Every started session must end exactly once; refused ones never started. */
  sessionEnded(kind: SessionKind, outcome: Exclude<SessionOutcome, 'refused'>): void;
  sessionRefused(kind: SessionKind): void;
  recordedBytes(n: number): void;
  recordingFailed(): void;
  /** Seconds between an audit event's time and its arrival at the recorder, per node. */
  shimLag(node: string, seconds: number): void;
  /** Events the shim reports it could not deliver or read (spool overflow, audit backlog loss). */
  shimLostEvents(node: string, n: number): void;
  /** A shim disconnected for good (node gone): drop its per-node series. */
  shimGone(node: string): void;
  /** A periodic job ran on this replica (replicas/jobs.ts: once across replicas, not per replica). */
  jobRan(job: string): void;
  /** Exports the recording uploader's figures (storage/uploads.ts), read when scraped. */
  watchUploads(counters: { readonly pending: number; readonly failures: number }): void;
  /** Sessions of a dead replica this replica ended as interrupted. */
  sessionsTakenOver(n: number): void;
  /** Exports the SIEM export's figures per sink (siem/export.ts), read when scraped. */
  watchSiem(source: SiemFiguresSource): void;
  /** GET /metrics in the text exposition format. */
  handler(): (req: IncomingMessage, res: ServerResponse) => Promise<void>;
}

/** What the SIEM export says about itself (server/siem/export.ts implements it). */
export interface SiemFiguresSource {
  figures(): { sink: string; backlog: number; delivered: number; failures: number; dropped: number }[];
  /** Events that could not be spooled at all (full disk). */
  readonly unwritable: number;
}

export interface MetricsOptions {
  /** Also export process and Node.js runtime metrics (default true). */
  defaultMetrics?: boolean;
}

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const o = { defaultMetrics: true, ...options };
  const registry = new Registry();
  if (o.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'audited_exec_' });
  const active = new Gauge({
    name: 'audited_exec_sessions_active',
    help: 'Sessions whose stream is open now.',
    labelNames: ['kind'] as const,
    registers: [registry],
  });
  const total = new Counter({
    name: 'audited_exec_sessions_total',
    help: 'Sessions by kind and outcome (ended, interrupted, refused).',
    labelNames: ['kind', 'outcome'] as const,
    registers: [registry],
  });
  const bytes = new Counter({
    name: 'audited_exec_recorded_bytes_total',
    help: 'Bytes appended to asciicast recordings.',
    registers: [registry],
  });
  const failures = new Counter({
    name: 'audited_exec_recording_failures_total',
    help: 'Recording writes that failed (a session is cut when its recording fails).',
    registers: [registry],
  });
  const lag = new Gauge({
    name: 'audited_exec_shim_lag_seconds',
    help: 'Latest delay between an audit event on a node and its arrival at the recorder.',
    labelNames: ['node'] as const,
    registers: [registry],
  });
  const lost = new Counter({
    name: 'audited_exec_shim_lost_events_total',
    help: 'Audit events a node shim reported lost.',
    labelNames: ['node'] as const,
    registers: [registry],
  });
  const jobs = new Counter({
    name: 'audited_exec_job_runs_total',
    help: 'Runs of each periodic job on this replica (once across replicas: the sum is the total).',
    labelNames: ['job'] as const,
    registers: [registry],
  });
  const takenOver = new Counter({
    name: 'audited_exec_sessions_taken_over_total',
    help: 'Sessions of replicas that stopped answering that this replica ended as interrupted.',
    registers: [registry],
  });
  takenOver.inc(0);
  // Both session kinds are always exported, so an alert on `== 0` or a rate() works from the start.
  for (const kind of ['exec', 'node-debug'] satisfies SessionKind[]) {
    active.inc({ kind }, 0);
    for (const outcome of ['ended', 'interrupted', 'refused', 'terminated'] satisfies SessionOutcome[]) {
      total.inc({ kind, outcome }, 0);
    }
  }
  bytes.inc(0);
  failures.inc(0);

  return {
    registry,
    sessionStarted: (kind) => active.inc({ kind }),
    sessionEnded: (kind, outcome) => {
      active.dec({ kind });
      total.inc({ kind, outcome });
    },
    sessionRefused: (kind) => total.inc({ kind, outcome: 'refused' }),
    recordedBytes: (n) => {
      if (n > 0) bytes.inc(n);
    },
    recordingFailed: () => failures.inc(),
    shimLag: (node, seconds) => lag.set({ node }, Math.max(0, seconds)),
    shimLostEvents: (node, n) => {
      if (n > 0) lost.inc({ node }, n);
    },
    shimGone: (node) => {
      lag.remove({ node });
      lost.remove({ node });
    },
    jobRan: (job) => jobs.inc({ job }),
    watchUploads: (counters) => {
      new Gauge({
        name: 'audited_exec_uploads_pending',
        help: 'Finished recordings on this replica not yet in the object store (the bucket is behind).',
        registers: [registry],
        collect() {
          this.set(counters.pending);
        },
      });
      new Counter({
        name: 'audited_exec_upload_failures_total',
        help: 'Recording uploads to the object store that failed (each is retried).',
        registers: [registry],
        collect() {
          this.reset();
          this.inc(counters.failures);
        },
      });
    },
    sessionsTakenOver: (n) => {
      if (n > 0) takenOver.inc(n);
    },
    watchSiem: (source) => watchSiem(registry, source),
    handler: () => async (_req, res) => {
      const body = await registry.metrics();
      res.writeHead(200, { 'content-type': registry.contentType }).end(body);
    },
  };
}

/** Counts sessions from the session events: every started session ends exactly once. */
export function followSessions(metrics: Metrics, events: SessionEvents): void {
  events.on('started', (session) => metrics.sessionStarted(session.kind));
  events.on('ended', (session, outcome) => {
    const state = session.state;
    metrics.sessionEnded(session.kind, state === 'ended' || state === 'terminated' ? state : 'interrupted');
    if (session.recordingBytes) metrics.recordedBytes(session.recordingBytes);
    if (outcome === 'recording-failed') metrics.recordingFailed();
  });
}

/** The RBAC rule that grants reading the recorder's metrics: `get` on the non-resource URL
 *  /metrics, as Prometheus is granted it for the apiserver's and the kubelets' (deploy: ClusterRole
 *  audited-exec:metrics-reader). */
export const METRICS_ACCESS = { verb: 'get', path: '/metrics' } as const;

/** GET /metrics for callers RBAC allows (METRICS_ACCESS); others get 403. Runtime and per-node
 *  shim figures are not for every authenticated user. */
export function authorizedMetricsHandler(
  metrics: Pick<Metrics, 'handler'>,
  reviewer: AccessReviewer,
): (ctx: { req: IncomingMessage; res: ServerResponse; user?: UserInfo | null }) => Promise<void> {
  const serve = metrics.handler();
  return async ({ req, res, user }) => {
    if (!user || !(await reviewer.allowed(user, METRICS_ACCESS))) {
      throw new AuditedExecError(
        'METRICS_FORBIDDEN',
        `${user?.username ?? 'this caller'} may not read the recorder's metrics: it needs get on the non-resource URL /metrics (ClusterRole audited-exec:metrics-reader)`,
      );
    }
    await serve(req, res);
  };
}

/** The SIEM export's gauges and counters, read from its figures when scraped. */
function watchSiem(registry: Registry, source: SiemFiguresSource): void {
  const perSink = (
    metric: Gauge<'sink'> | Counter<'sink'>,
    pick: (f: ReturnType<SiemFiguresSource['figures']>[number]) => number,
  ) => {
    metric.reset();
    for (const f of source.figures()) {
      if (metric instanceof Gauge) metric.set({ sink: f.sink }, pick(f));
      else metric.inc({ sink: f.sink }, pick(f));
    }
  };
  new Gauge({
    name: 'audited_exec_siem_backlog_events',
    help: 'Events spooled for a SIEM sink that it has not acknowledged yet.',
    labelNames: ['sink'] as const,
    registers: [registry],
    collect() {
      perSink(this, (f) => f.backlog);
    },
  });
  new Counter({
    name: 'audited_exec_siem_delivered_events_total',
    help: 'Events a SIEM sink acknowledged.',
    labelNames: ['sink'] as const,
    registers: [registry],
    collect() {
      perSink(this, (f) => f.delivered);
    },
  });
  new Counter({
    name: 'audited_exec_siem_delivery_failures_total',
    help: 'Deliveries to a SIEM sink that failed (each batch is sent again after a back-off).',
    labelNames: ['sink'] as const,
    registers: [registry],
    collect() {
      perSink(this, (f) => f.failures);
    },
  });
  new Counter({
    name: 'audited_exec_siem_dropped_events_total',
    help: 'Events dropped for a SIEM sink before it acknowledged them: the spool passed its size limit.',
    labelNames: ['sink'] as const,
    registers: [registry],
    collect() {
      perSink(this, (f) => f.dropped);
    },
  });
  new Counter({
    name: 'audited_exec_siem_unspooled_events_total',
    help: 'Events the SIEM export could not write to its spool (the data disk was full): never sent.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(source.unwritable);
    },
  });
}
