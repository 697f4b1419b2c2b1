// Two recorder replicas on one PostgreSQL database, sharing their serving certificate: a session
// recorded by the first is terminated through the second, which forwards the request to the owner
// (only the stream's holder can end it). Real sandbox apiserver and runc pods, real recorders.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { terminationOf } from '../../../common/termination.ts';
import type { SessionRecord } from '../../../common/wire.ts';
import { loadTlsIdentity } from '../../../server/tls.ts';
import { type Sandbox, startSandbox } from '../../sandbox/index.ts';
import { freePort } from '../../support/ports.ts';
import { type PostgresServer, startPostgres } from '../../support/postgres.ts';
import { skipE2E } from '../../support/prereq.ts';
import { type RecorderHandle, startRecorder } from '../../support/recorder.ts';
import { call, runningSession } from '../client.ts';

describe.skipIf(skipE2E('terminate through another replica', 'root', 'runc', 'postgres'))(
  'terminating a session through a replica that does not record it',
  () => {
    let sb: Sandbox;
    let pg: PostgresServer;
    let dir: string;
    const replicas: RecorderHandle[] = [];

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'terminate-forward-'));
      sb = await startSandbox({ log: () => {} });
      pg = await startPostgres();
      const database = await pg.createDatabase();
      await loadTlsIdentity({ dataDir: join(dir, 'shared') });
      for (const id of ['r1', 'r2']) {
        const port = await freePort();
        replicas.push(
          await startRecorder({
            sandbox: sb,
            settings: {
              port,
              database,
              replicaId: id,
              advertiseUrl: `https://127.0.0.1:${port}`,
              tlsCertFile: join(dir, 'shared', 'tls', 'server.crt'),
              tlsKeyFile: join(dir, 'shared', 'tls', 'server.key'),
            },
          }),
        );
      }
    }, 120_000);

    afterAll(async () => {
      for (const r of replicas) await r.stop();
      await pg?.stop();
      await sb?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('forwards the request to the owner, which ends the session and answers', async () => {
      const [owner, other] = replicas as [RecorderHandle, RecorderHandle];
      const alice = { token: sb.tokens.alice! };
      const { id, stream } = await runningSession(owner, alice);
      const moderator = { token: sb.tokens.moderator! };
      expect(
        (await call<SessionRecord>(other, moderator, 'GET', `/api/v1/sessions/${id}`)).body.replica,
      ).toBe('r1');

      const r = await call<SessionRecord>(other, moderator, 'POST', `/api/v1/sessions/${id}/terminate`, {
        reason: 'through r2',
      });
      expect(r.status, r.text).toBe(200);
      expect(r.body).toMatchObject({ state: 'terminated', terminatedBy: 'moderator', replica: 'r1' });
      const ended = await stream;
      expect(ended.statuses.map((s) => terminationOf(JSON.parse(s))).find(Boolean)).toEqual({
        by: 'moderator',
        reason: 'through r2',
      });
      // Ended now: the second replica answers itself, from the shared store.
      const again = await call(other, moderator, 'POST', `/api/v1/sessions/${id}/terminate`, { reason: 'x' });
      expect(again.status).toBe(409);
    }, 120_000);
  },
);
