// The recorder's fitness, as the kubelet and the session routes ask for it: /healthz (the process
// answers), /readyz (the database answers, the data disk has room, no session update waits for
// space), and the guard that refuses a new session on a full disk before any pod or exec is touched.
import { AuditedExecError } from '../common/errors.ts';
import { sendJson } from './http/respond.ts';
import type { Router } from './http/router.ts';
import { DISK_FULL_MESSAGE, type DiskReserve } from './store/disk.ts';
import { StoreError } from './store/errors.ts';
import type { RecorderStore } from './store/store.ts';

const DRAINING_MESSAGE =
  'this recorder replica is shutting down: its open sessions run on, new sessions go to another replica';

export interface HealthDeps {
  router: Router;
  /** flushPending: the embedded store's updates held back by a full disk (store/pending.ts) */
  store: Pick<RecorderStore, 'readiness'> & { flushPending?(): number };
  disk: Pick<DiskReserve, 'check'>;
  /** True once shutdown began. */
  closing: () => boolean;
  /** True once SIGTERM asked this replica to drain: open sessions run on, new ones go elsewhere. */
  draining?: () => boolean;
}

export function registerHealth(d: HealthDeps): void {
  d.router.get('/healthz', (ctx) => sendJson(ctx.res, 200, { status: 'ok' }), { auth: false });
  d.router.get(
    '/readyz',
    async (ctx) => {
      const reason = await notReady(d);
      sendJson(ctx.res, reason ? 503 : 200, reason ? { status: 'not ready', reason } : { status: 'ok' });
    },
    { auth: false },
  );
  // A session on a full disk could not be recorded: refuse it before any pod or exec is touched.
  const roomForSessions = () => {
    if (d.disk.check().full) throw new StoreError('STORE_DISK_FULL', DISK_FULL_MESSAGE);
    d.store.flushPending?.();
  };
  d.router.guard('POST', '/api/v1/sessions', () => {
    if (d.draining?.()) throw new AuditedExecError('REPLICA_DRAINING', DRAINING_MESSAGE);
  });
  d.router.guard('POST', '/api/v1/sessions', roomForSessions);
  d.router.guard('GET', '/api/v1/sessions/:id/stream', roomForSessions);
}

/** Why the recorder should get no traffic now, or undefined when it is ready. */
async function notReady(d: HealthDeps): Promise<string | undefined> {
  if (d.closing()) return 'the recorder is shutting down';
  if (d.draining?.()) return DRAINING_MESSAGE;
  const state = d.disk.check();
  if (state.full) return state.reason;
  return d.store.readiness();
}
