// Shim events stored per second by one store, per engine: batches of 500 (the shipper's batch size,
// shim/shipper.ts) inserted one after another for a few seconds, as one shim connection sends them.
// SQLite in a temp data dir; PostgreSQL on a throwaway local server with production durability
// (fsync, synchronous commit on), where SQLite's WAL with synchronous=NORMAL does not fsync each
// commit: the figures compare engines as each is configured to run, not equal durability.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ShimEvent } from '../common/wire.ts';
import { DirectoryObjectStore } from '../server/storage/directory-store.ts';
import { PgStore } from '../server/store/pg/store.ts';
import { SqliteStore } from '../server/store/sqlite.ts';
import type { RecorderStore } from '../server/store/store.ts';
import { startPostgres } from '../test/support/postgres.ts';
import { missing } from '../test/support/prereq.ts';
import type { BenchResult } from './result.ts';

const BATCH = 500;
const T0 = Date.UTC(2026, 0, 1) / 1000;

function event(serial: number): ShimEvent {
  const time = new Date((T0 + serial / 100) * 1000).toISOString();
  return {
    seq: serial,
    node: 'node-1',
    bootId: 'boot-a',
    auditSerial: serial,
    auditTime: (T0 + serial / 100).toFixed(3),
    containerId: 'containerd://0123456789abcdef',
    kind: 'exec',
    exec: {
      session: `00000000-0000-4000-8000-${(serial % 16).toString(16).padStart(12, '0')}`,
      attribution: 'marker',
      argv: ['/usr/bin/kubectl', 'get', 'pods', '-n', 'prod', `--selector=app=web-${serial % 7}`],
      pid: 1000 + (serial % 30_000),
      ppid: 1,
      time,
      auditId: `${T0 + serial / 100}:${serial}`,
      tty: 'pts0',
      cwd: '/root',
      exe: '/usr/bin/kubectl',
      uid: 0,
    },
    raw: [`type=EXECVE msg=audit(${T0}:${serial}): argc=6 a0="/usr/bin/kubectl"`],
  };
}

/** Inserts batches for `seconds`; events per second stored. */
async function ingest(store: RecorderStore, seconds: number): Promise<{ perSecond: number; events: number }> {
  let serial = 0;
  const started = performance.now();
  const until = started + seconds * 1000;
  while (performance.now() < until) {
    const batch = Array.from({ length: BATCH }, () => event(++serial));
    const r = await store.events.insert(batch, { receivedAt: new Date().toISOString() });
    if (r.inserted !== BATCH) throw new Error(`stored ${r.inserted} of a batch of ${BATCH}`);
  }
  const elapsed = (performance.now() - started) / 1000;
  return { perSecond: Math.round(serial / elapsed), events: serial };
}

export async function storeIngestBench(o: {
  seconds: number;
  log: (l: string) => void;
}): Promise<BenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'ae-bench-store-'));
  const figures: Record<string, number | string> = { 'batch size': BATCH };
  try {
    const sqlite = new SqliteStore({ dataDir: join(dir, 'sqlite') });
    try {
      const r = await ingest(sqlite, o.seconds);
      figures['sqlite events/s'] = r.perSecond;
      o.log(`store-ingest: sqlite ${r.perSecond} events/s (${r.events} events)`);
    } finally {
      await sqlite.close();
    }
    const noPostgres = missing('postgres');
    if (noPostgres) figures['postgres events/s'] = `not measured: ${noPostgres}`;
    else await measurePostgres(dir, o, figures);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    name: 'store ingest',
    method: `shim events (execs) stored by one store in batches of ${BATCH}, one batch after another for ${o.seconds} s per engine; SQLite (WAL, synchronous=NORMAL) in a temp dir; PostgreSQL 15 on a local server with fsync and synchronous commit on, over TCP`,
    figures,
  };
}

async function measurePostgres(
  dir: string,
  o: { seconds: number; log: (l: string) => void },
  figures: Record<string, number | string>,
): Promise<void> {
  const server = await startPostgres({ durable: true });
  try {
    const store = await PgStore.open({
      url: await server.createDatabase(),
      objects: new DirectoryObjectStore(join(dir, 'objects')),
      cacheDir: join(dir, 'cache'),
    });
    try {
      const r = await ingest(store, o.seconds);
      figures['postgres events/s'] = r.perSecond;
      o.log(`store-ingest: postgres ${r.perSecond} events/s (${r.events} events)`);
    } finally {
      await store.close();
    }
  } finally {
    await server.stop();
  }
}
