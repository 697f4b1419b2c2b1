// What only the PostgreSQL engine has to show: several replicas starting on one fresh database at
// once, signers on two replicas racing for one link, a bundle served by a replica that did not
// seal it, and readiness when the database goes away. The shared behaviour is pg-contract.test.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SIGNATURE_FORMAT, type SignatureDocument } from '../../../common/evidence/format.ts';
import { DirectoryObjectStore } from '../../../server/storage/directory-store.ts';
import { PgStore } from '../../../server/store/pg/store.ts';
import { usePostgres } from '../../support/postgres.ts';
import { skipE2E } from '../../support/prereq.ts';
import { sessionId, sessionRecord } from './contract/factory.ts';

function doc(version: number): SignatureDocument {
  return {
    format: SIGNATURE_FORMAT,
    algorithm: 'Ed25519',
    keyFingerprint: 'SHA256:test',
    payload: { version } as SignatureDocument['payload'],
    signature: `sig-${version}`,
  };
}

async function* slowBytes(text: string): AsyncIterable<Uint8Array> {
  await new Promise((r) => setTimeout(r, 50));
  yield new TextEncoder().encode(text);
}

describe.skipIf(skipE2E('PostgreSQL store', 'postgres'))('PgStore', () => {
  const server = usePostgres();
  let dir: string;
  let objects: DirectoryObjectStore;
  const stores: PgStore[] = [];
  const open = (url: string, n = stores.length) =>
    PgStore.open({ url, objects, cacheDir: join(dir, `cache-${n}`) }).then((s) => {
      stores.push(s);
      return s;
    });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ae-pg-'));
    objects = new DirectoryObjectStore(join(dir, 'objects'));
  });
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lets three replicas start on one fresh database at once, applying each schema step once', async () => {
    const url = await server.server.createDatabase();
    const [a, b, c] = await Promise.all([open(url, 0), open(url, 1), open(url, 2)]);
    await a!.insertSession(sessionRecord(1));
    expect((await c!.getSession(sessionId(1)))?.user).toBe('alice');
    expect(await b!.readiness()).toBeUndefined();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query('SELECT id, count(*) AS n FROM schema_migrations GROUP BY id');
      expect(rows.length).toBeGreaterThan(1);
      expect(rows.every((r) => Number(r.n) === 1)).toBe(true);
    } finally {
      await client.end();
    }
    // A replica that starts later finds the schema done.
    await open(url);
  });

  it('lets one of two replicas sealing the same link at once win; the other is told to ask again', async () => {
    const url = await server.server.createDatabase();
    const [a, b] = [await open(url), await open(url)];
    const id = sessionId(2);
    const tries = await Promise.allSettled([
      a.signatures.appendSignature(id, doc(1), slowBytes('from a')),
      b.signatures.appendSignature(id, doc(1), slowBytes('from b')),
    ]);
    const lost = tries.filter((t) => t.status === 'rejected');
    expect(lost).toHaveLength(1);
    expect((lost[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'EVIDENCE_CHAIN_CONFLICT' });
    const winner = tries[0]!.status === 'fulfilled' ? 'from a' : 'from b';
    // Either replica serves the winner's bundle, from the shared object store.
    expect(await (await a.signatures.readBundle(id))!.text()).toBe(winner);
    expect(await (await b.signatures.readBundle(id))!.text()).toBe(winner);
    expect(await objects.size(`evidence/${id}/1.tar.gz`)).toBe(6);
  });

  it('keeps the latest two bundles of a chain in the object store', async () => {
    const url = await server.server.createDatabase();
    const store = await open(url);
    const id = sessionId(3);
    for (const v of [1, 2, 3]) await store.signatures.appendSignature(id, doc(v), slowBytes(`bundle ${v}`));
    expect(await objects.size(`evidence/${id}/1.tar.gz`)).toBeNull();
    expect(await objects.size(`evidence/${id}/2.tar.gz`)).not.toBeNull();
    expect(await (await store.signatures.readBundle(id))!.text()).toBe('bundle 3');
    await store.signatures.deleteEvidence(id);
    expect(await objects.size(`evidence/${id}/3.tar.gz`)).toBeNull();
  });

  it('says in one sentence that the database does not answer', async () => {
    const url = await server.server.createDatabase();
    const store = await open(url);
    const admin = new pg.Client({ connectionString: server.server.url('postgres') });
    await admin.connect();
    try {
      await admin.query(`DROP DATABASE ${new URL(url).pathname.slice(1)} WITH (FORCE)`);
    } finally {
      await admin.end();
    }
    const why = await store.readiness();
    expect(why).toMatch(/^the PostgreSQL database at 127\.0\.0\.1:\d+\/\w+ does not answer \(.+\)$/);
  });
});
