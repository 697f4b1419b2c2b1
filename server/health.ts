// The recorder's fitness, as the kubelet and the session routes ask for it: /healthz (the process
// answers), /readyz (the database answers, the data disk has room, no session update waits for
// space), and the guard that refuses a new session on a full disk before any pod or exec is touched.
import { sendJson } from './http/respond.ts';
import type { Router } from './http/router.ts';
import { DISK_FULL_MESSAGE, type DiskReserve } from './store/disk.ts';
import { StoreError } from './store/errors.ts';
import type { RecorderStore } from './store/store.ts';

export interface HealthDeps {
  router: Router;
  store: Pick<RecorderStore, 'readiness'> & { flushPending(): number };
  disk: Pick<DiskReserve, 'check'>;
  /** True once shutdown began. */
  closing: () => boolean;
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
    d.store.flushPending();
  };
  d.router.guard('POST', '/api/v1/sessions', roomForSessions);
  d.router.guard('GET', '/api/v1/sessions/:id/stream', roomForSessions);
}

/** Why the recorder should get no traffic now, or undefined when it is ready. */
async function notReady(d: HealthDeps): Promise<string | undefined> {
  if (d.closing()) return 'the recorder is shutting down';
  const state = d.disk.check();
  if (state.full) return state.reason;
  return d.store.readiness();
}
