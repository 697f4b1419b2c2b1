// A real S3 server for the object-store tests: Debian's Ceph RADOS Gateway over a one-node,
// memory-backed Ceph cluster (one monitor, one memstore OSD, radosgw; no manager), all under one
// temp dir, on free ports. Start-up takes about 20 s (mon ≈ 2 s, osd ≈ 5 s, rgw ≈ 10 s), so a test
// file starts it once in beforeAll. Facts behind the set-up: ../shared/notes/real-servers.md.
//
// On a laptop without the packages the suite skips with a reason; in CI (CI=true) or with
// AUDITED_EXEC_E2E=required it fails instead (test/support/prereq.ts).
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { freePort } from './ports.ts';
import { e2eRequired } from './prereq.ts';

const run = promisify(execFile);

const BINARIES = ['/usr/bin/ceph-mon', '/usr/bin/ceph-osd', '/usr/bin/radosgw', '/usr/bin/radosgw-admin'];
const PACKAGES = 'ceph-mon ceph-osd radosgw ceph-common';
/** Generous: the suite runs beside others on two cores. */
export const RGW_START_TIMEOUT_MS = 180_000;

export interface CephRgw {
  /** http://127.0.0.1:PORT */
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Creates a bucket (path style); returns its name. */
  createBucket(name?: string): Promise<string>;
  /** Stops every daemon by its pid and removes the temp dir. */
  stop(): Promise<void>;
}

/** Why RGW cannot be started here, or null. */
export function rgwMissing(): string | null {
  const absent = BINARIES.filter((b) => !executable(b));
  if (absent.length === 0) return null;
  return `${absent.join(', ')} not installed (apt-get install ${PACKAGES}; scripts/install-system-deps.sh)`;
}

/** For describe.skipIf: true with a printed reason on a laptop; throws when e2e tests are required. */
export function skipRgw(suite: string): boolean {
  const reason = rgwMissing();
  if (!reason) return false;
  if (e2eRequired()) throw new Error(`${suite}: Ceph RGW prerequisites missing in CI: ${reason}`);
  process.stderr.write(`SKIPPED ${suite}: ${reason} (set AUDITED_EXEC_E2E=required to fail instead)\n`);
  return true;
}

export async function startCephRgw(): Promise<CephRgw> {
  const dir = await mkdtemp(join(tmpdir(), 'ceph-rgw-'));
  const runDir = join(dir, 'run');
  const stop = async (): Promise<void> => {
    await stopDaemons(runDir);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const [monPort, rgwPort] = [await freePort(), await freePort()];
    const conf = join(dir, 'ceph.conf');
    await Promise.all(['run', 'log', 'mon', 'osd', 'rgw'].map((d) => mkdir(join(dir, d))));
    await writeFile(conf, cephConf(dir, monPort, rgwPort));
    await startCluster(dir, conf, monPort);
    const endpoint = `http://127.0.0.1:${rgwPort}`;
    await startGateway(conf, endpoint);
    const keys = {
      accessKeyId: randomBytes(10).toString('hex'),
      secretAccessKey: randomBytes(20).toString('hex'),
    };
    await ceph('radosgw-admin', conf, [
      'user',
      'create',
      '--uid=test',
      '--display-name=test',
      `--access-key=${keys.accessKeyId}`,
      `--secret-key=${keys.secretAccessKey}`,
    ]);
    const region = 'us-east-1';
    return {
      endpoint,
      region,
      ...keys,
      async createBucket(name = `b-${randomBytes(6).toString('hex')}`) {
        const client = new S3Client({ endpoint, region, forcePathStyle: true, credentials: keys });
        try {
          await client.send(new CreateBucketCommand({ Bucket: name }));
        } finally {
          client.destroy();
        }
        return name;
      },
      stop,
    };
  } catch (err) {
    const log = await readLogs(join(dir, 'log'));
    await stop();
    throw new Error(`Ceph RGW did not start: ${(err as Error).message}\n${log}`, { cause: err });
  }
}

function cephConf(dir: string, monPort: number, rgwPort: number): string {
  return `[global]
fsid = ${randomUUID()}
mon_host = v2:127.0.0.1:${monPort}
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
osd_pool_default_size = 1
osd_pool_default_min_size = 1
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
osd_pool_default_pg_num = 8
osd_crush_chooseleaf_type = 0
osd_objectstore = memstore
memstore_device_bytes = 1073741824
run_dir = ${dir}/run
log_file = ${dir}/log/$name.log
admin_socket = ${dir}/run/$name.asok
pid_file = ${dir}/run/$name.pid
mon_data = ${dir}/mon/$name
osd_data = ${dir}/osd/$name
rgw_data = ${dir}/rgw/$name
rgw_frontends = beast endpoint=127.0.0.1:${rgwPort}
`;
}

/** Monitor, then one OSD: each daemon forks into the background once it is up. */
async function startCluster(dir: string, conf: string, monPort: number): Promise<void> {
  const fsid = /fsid = (\S+)/.exec(await readFile(conf, 'utf8'))![1]!;
  const monmap = join(dir, 'monmap');
  await run('monmaptool', ['--create', '--addv', 'a', `[v2:127.0.0.1:${monPort}]`, '--fsid', fsid, monmap]);
  await ceph('ceph-mon', conf, ['--mkfs', '-i', 'a', '--monmap', monmap]);
  await ceph('ceph-mon', conf, ['-i', 'a']);
  const id = (await ceph('ceph', conf, ['osd', 'create'])).trim();
  await mkdir(join(dir, 'osd', `osd.${id}`));
  await ceph('ceph-osd', conf, ['-i', id, '--mkfs']);
  await ceph('ceph-osd', conf, ['-i', id]);
}

/** radosgw; with auth "none" it must still be told to use crc mode, or it waits 300 s for auth. */
async function startGateway(conf: string, endpoint: string): Promise<void> {
  await ceph('radosgw', conf, ['-n', 'client.rgw', '--ms-mon-client-mode', 'crc', '--ms-client-mode', 'crc']);
  const deadline = Date.now() + RGW_START_TIMEOUT_MS;
  for (;;) {
    try {
      if ((await fetch(`${endpoint}/`)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`radosgw did not answer on ${endpoint}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function ceph(bin: string, conf: string, args: string[]): Promise<string> {
  const { stdout } = await run(bin, ['-c', conf, ...args], { timeout: 120_000 });
  return stdout;
}

async function stopDaemons(runDir: string): Promise<void> {
  let pids: number[] = [];
  try {
    const files = (await readdir(runDir)).filter((f) => f.endsWith('.pid'));
    pids = (await Promise.all(files.map((f) => readFile(join(runDir, f), 'utf8')))).map(Number);
  } catch {
    return;
  }
  for (const pid of pids) signal(pid, 'SIGTERM');
  const deadline = Date.now() + 10_000;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const pid of pids.filter(alive)) signal(pid, 'SIGKILL');
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    if (Number.isInteger(pid) && pid > 1) process.kill(pid, sig);
  } catch {
    // already gone
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function readLogs(dir: string): Promise<string> {
  try {
    const tails = await Promise.all(
      (await readdir(dir)).map(
        async (f) => `--- ${f}\n${(await readFile(join(dir, f), 'utf8')).slice(-2000)}`,
      ),
    );
    return tails.join('\n');
  } catch {
    return '';
  }
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
