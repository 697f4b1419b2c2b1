// Several recorder replicas as a cluster runs them: real PostgreSQL (one database), a real S3
// bucket (Ceph RGW), one serving certificate they share, each its own data dir (its "volume") and
// a fixed port (so a restart comes back where the balancer expects it), HAProxy in front.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KEY_FILE_NAME, loadSigningKey } from '../../server/evidence/signing-key.ts';
import { loadTlsIdentity } from '../../server/tls.ts';
import { type CephRgw, startCephRgw } from './ceph-rgw.ts';
import { type Balancer, startHaproxy } from './haproxy.ts';
import { freePort } from './ports.ts';
import { type PostgresServer, startPostgres } from './postgres.ts';
import type { SandboxLike } from './recorder.ts';
import { type SpawnedRecorder, spawnRecorder } from './recorder.ts';

export interface Replica {
  id: string;
  port: number;
  /** https://127.0.0.1:PORT, straight to this replica (not through the balancer) */
  url: string;
  dataDir: string;
  process: SpawnedRecorder | null;
  /** Starts it (again) under the same id, port and data dir. */
  start(): Promise<void>;
}

export interface ReplicaCluster {
  replicas: Replica[];
  /** the balancer's URL: what users and the plugin are given */
  url: string;
  caPem: string;
  caFile: string;
  /** the balancer's log (HAProxy) */
  balancerLog(): string;
  bucket: string;
  rgw: CephRgw;
  database: string;
  stop(): Promise<void>;
}

export async function startReplicaCluster(o: {
  sandbox: SandboxLike;
  count: number;
  /** --drain-timeout in seconds */
  drainSeconds?: number;
}): Promise<ReplicaCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'replicas-'));
  const cleanups: (() => Promise<void>)[] = [async () => rmSync(dir, { recursive: true, force: true })];
  try {
    const pg: PostgresServer = await startPostgres();
    cleanups.unshift(() => pg.stop());
    const rgw = await startCephRgw();
    cleanups.unshift(() => rgw.stop());
    const database = await pg.createDatabase();
    const bucket = await rgw.createBucket();
    const tls = await loadTlsIdentity({ dataDir: join(dir, 'shared') });
    const cert = join(dir, 'shared', 'tls', 'server.crt');
    const key = join(dir, 'shared', 'tls', 'server.key');
    // One evidence key for all, as one Secret mounted into every replica: a bundle verifies with
    // the recorder's key whichever replica sealed it.
    await loadSigningKey({ dataDir: join(dir, 'shared') });
    const signingKeyFile = join(dir, 'shared', KEY_FILE_NAME);
    const replicas: Replica[] = [];
    for (let i = 1; i <= o.count; i++) {
      const port = await freePort();
      const replica: Replica = {
        id: `r${i}`,
        port,
        url: `https://127.0.0.1:${port}`,
        dataDir: join(dir, `r${i}`),
        process: null,
        async start() {
          replica.process = await spawnRecorder({
            sandbox: o.sandbox,
            dataDir: replica.dataDir,
            listen: `127.0.0.1:${port}`,
            env: { AWS_ACCESS_KEY_ID: rgw.accessKeyId, AWS_SECRET_ACCESS_KEY: rgw.secretAccessKey },
            args: [
              ...['--replica-id', replica.id, '--advertise-url', replica.url],
              ...['--database', database],
              ...['--object-store', `s3://${bucket}/audited-exec`],
              ...['--s3-endpoint', rgw.endpoint, '--s3-region', rgw.region],
              ...['--tls-cert', cert, '--tls-key', key, '--signing-key', signingKeyFile],
              ...['--drain-timeout', String(o.drainSeconds ?? 0)],
            ],
          });
        },
      };
      replicas.push(replica);
    }
    // All at once, as a Deployment starts them: the migrations lock makes that safe.
    await Promise.all(replicas.map((r) => r.start()));
    cleanups.unshift(async () => {
      await Promise.all(replicas.map((r) => r.process?.stop()));
    });
    const balancer: Balancer = await startHaproxy(replicas.map((r) => ({ name: r.id, port: r.port })));
    cleanups.unshift(() => balancer.stop());
    return {
      replicas,
      url: balancer.url,
      balancerLog: () => balancer.log(),
      caPem: tls.cert,
      caFile: cert,
      bucket,
      rgw,
      database,
      stop: () => runAll(cleanups),
    };
  } catch (err) {
    await runAll(cleanups);
    throw err;
  }
}

async function runAll(steps: (() => Promise<void>)[]): Promise<void> {
  for (const step of steps) await step().catch(() => {});
}
