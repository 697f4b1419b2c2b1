// A real PostgreSQL for the tests of the PostgreSQL store: Debian's server binaries, a throwaway
// cluster in a temp dir on a free port, one per test file (usePostgres), a fresh database per test
// (createDatabase). PostgreSQL refuses to run as root, so as root the cluster belongs to the
// `postgres` user (runuser); as anyone else it runs as that user. Tests gate on
// skipE2E('…', 'postgres') (prereq.ts): skipped on a laptop without PostgreSQL, failed in CI.
import { execFile, execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { freePort } from './ports.ts';
import { POSTGRES_BIN } from './prereq.ts';

const run = promisify(execFile);

export interface PostgresServer {
  readonly port: number;
  /** postgres://app@127.0.0.1:PORT/NAME */
  url(database: string): string;
  /** Creates an empty database with a name not used before; returns its URL. */
  createDatabase(): Promise<string>;
  stop(): Promise<void>;
}

export interface PostgresOptions {
  /** fsync and synchronous commit as a production server has them (benchmarks); off by default,
   *  since a test database need not survive a power cut. */
  durable?: boolean;
}

/** A server binary's command line, run as the cluster's owner. */
function ownerCommand(bin: string, args: string[]): [string, string[]] {
  const path = join(POSTGRES_BIN, bin);
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', path, ...args]] : [path, args];
}

async function asOwner(bin: string, args: string[]): Promise<void> {
  await run(...ownerCommand(bin, args));
}

async function initCluster(dir: string): Promise<void> {
  if (process.getuid?.() === 0) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const uid = Number(stdout.trim());
    chownSync(dir, uid, uid);
  }
  await asOwner('initdb', ['-D', join(dir, 'data'), '-A', 'trust', '-U', 'app', '-E', 'UTF8', '--no-sync']);
}

/** Initialises a cluster and starts it; the port is picked free just before (retried once if taken). */
export async function startPostgres(options: PostgresOptions = {}): Promise<PostgresServer> {
  const dir = mkdtempSync(join(tmpdir(), 'ae-pg-'));
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  try {
    await initCluster(dir);
    const settings = options.durable ? '' : ' -c fsync=off -c synchronous_commit=off -c full_page_writes=off';
    let port = 0;
    for (let attempt = 0; ; attempt++) {
      port = await freePort();
      const o = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=200${settings}`;
      try {
        await asOwner('pg_ctl', ['-D', data, '-o', o, '-l', log, '-w', '-t', '60', 'start']);
        break;
      } catch (err) {
        if (attempt > 0) throw err;
      }
    }
    return server(dir, port);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

function server(dir: string, port: number): PostgresServer {
  const url = (database: string) => `postgres://app@127.0.0.1:${port}/${database}`;
  let databases = 0;
  let stopped = false;
  const stopArgs = ['-D', join(dir, 'data'), '-m', 'immediate', '-w', 'stop'];
  // A test process that exits without afterAll must not leave a server running ('exit' is sync).
  const onExit = () => {
    try {
      execFileSync(...ownerCommand('pg_ctl', stopArgs), { stdio: 'ignore' });
    } catch {
      // already stopped
    }
  };
  process.once('exit', onExit);
  return {
    port,
    url,
    async createDatabase() {
      const name = `t${process.pid}_${++databases}`;
      const admin = new pg.Client({ connectionString: url('postgres') });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE ${name}`);
      } finally {
        await admin.end();
      }
      return url(name);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      process.off('exit', onExit);
      try {
        await asOwner('pg_ctl', stopArgs);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** One server for the test file: started before its tests, stopped after them. */
export function usePostgres(options: PostgresOptions = {}): { readonly server: PostgresServer } {
  const handle: { server?: PostgresServer } = {};
  beforeAll(async () => {
    handle.server = await startPostgres(options);
  }, 120_000);
  afterAll(async () => {
    await handle.server?.stop();
  }, 60_000);
  return {
    get server(): PostgresServer {
      if (!handle.server) throw new Error('PostgreSQL is not started yet (use it inside a test)');
      return handle.server;
    },
  };
}
