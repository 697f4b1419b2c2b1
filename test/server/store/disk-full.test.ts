// The store on a full database: SQLite's own SQLITE_FULL, produced by capping the database's page
// count (PRAGMA max_page_count), the same error a full disk gives. Updates are held, visible and
// stored once there is room; inserts are refused with 507.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SessionRecord } from '../../../common/wire.ts';
import { statusFor } from '../../../server/http/respond.ts';
import { StoreError } from '../../../server/store/errors.ts';
import { SqliteStore } from '../../../server/store/sqlite.ts';

function session(i: number, state: SessionRecord['state'] = 'running'): SessionRecord {
  const id = `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
  return {
    id,
    kind: 'exec',
    state,
    user: 'alice',
    groups: [],
    command: ['sh'],
    tty: false,
    stdin: false,
    attribution: 'marker',
    auditId: id,
    startedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
    recordInput: false,
  };
}

const BIG = 'x'.repeat(3000);

describe('SqliteStore on a full disk', () => {
  let dir: string;
  let store: SqliteStore;
  let room = false;
  const logs: string[] = [];

  /** Fills every page, then caps the file there: the next write that needs a page gets SQLITE_FULL. */
  function fill(): void {
    for (let i = 0; i < 40; i++) store.insertSessionSync({ ...session(1000 + i, 'ended'), error: BIG });
    const pages = Number(store.sqliteHandle.prepare('PRAGMA page_count').get()?.page_count);
    store.sqliteHandle.exec(`PRAGMA max_page_count = ${pages}`);
  }
  const makeRoom = () => {
    store.sqliteHandle.exec('PRAGMA max_page_count = 1000000');
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'server-store-full-'));
    room = false;
    logs.length = 0;
    store = new SqliteStore({
      dataDir: dir,
      // A reserve that frees room once, as DiskReserve.release does.
      onDiskFull: () => {
        if (!room) return false;
        room = false;
        makeRoom();
        return true;
      },
      log: (l) => logs.push(l),
    });
    for (let i = 1; i <= 3; i++) await store.insertSession(session(i, i === 3 ? 'pending' : 'running'));
    fill();
  });
  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('holds a final state it cannot store, shows it to readers, and stores it once there is room', async () => {
    const id = session(1).id;
    await expect(
      store.updateSession(id, { state: 'interrupted', error: `no disk space ${BIG}` }),
    ).resolves.toBeUndefined();
    expect(store.pendingWrites).toBe(1);
    expect((await store.getSession(id))?.state).toBe('interrupted');
    const listed = await store.listSessions({ user: 'alice', limit: 500 });
    expect(listed.items.find((s) => s.id === id)?.state).toBe('interrupted');
    // Later updates queue behind it rather than racing it.
    await store.updateSession(id, { exitCode: 7 });
    expect(store.flushPending()).toBe(1);
    makeRoom();
    expect(store.flushPending()).toBe(0);
    const db = new DatabaseSync(join(dir, 'audited-exec.db'), { readOnly: true });
    expect(db.prepare('SELECT state, exit_code FROM sessions WHERE id = ?').get(id)).toEqual({
      state: 'interrupted',
      exit_code: 7,
    });
    db.close();
  });

  it('retries at once when the reserve frees room, so nothing is held', async () => {
    room = true;
    await store.updateSession(session(2).id, { state: 'ended', error: BIG });
    expect(store.pendingWrites).toBe(0);
    expect((await store.getSession(session(2).id))?.state).toBe('ended');
  });

  it('decides a held transition against stored state plus held updates', async () => {
    const id = session(3).id;
    expect(await store.transitionSession(id, 'running', { state: 'ended', error: BIG })).toBe(false);
    expect(await store.transitionSession(id, 'pending', { state: 'refused', error: BIG })).toBe(true);
    expect(await store.transitionSession(id, 'pending', { state: 'running', error: BIG })).toBe(false);
    expect((await store.getSession(id))?.state).toBe('refused');
  });

  it('marks stale sessions at start-up on a full disk instead of throwing', async () => {
    const marked = await store.interruptStale({
      pendingBefore: '2027-01-01T00:00:00.000Z',
      running: true,
      error: `the recorder stopped ${BIG}`,
      endedAt: '2026-06-01T00:00:00.000Z',
    });
    // Each one as it will be stored, with the state it was left in (the caller announces those ends).
    const byId = marked.sort((a, b) => a.session.id.localeCompare(b.session.id));
    expect(byId.map((m) => [m.session.id, m.was, m.session.state, m.session.endedAt])).toEqual(
      [1, 2, 3].map((i) => [
        session(i).id,
        i === 3 ? 'pending' : 'running',
        'interrupted',
        '2026-06-01T00:00:00.000Z',
      ]),
    );
    expect(store.pendingWrites).toBe(3);
    expect((await store.getSession(session(1).id))?.state).toBe('interrupted');
    expect((await store.getSession(session(3).id))?.state).toBe('interrupted');
  });

  it('on a full disk, does not mark a session whose held end already came', async () => {
    await store.updateSession(session(1).id, { state: 'ended', exitCode: 0, error: BIG });
    const marked = await store.interruptStale({
      pendingBefore: '2027-01-01T00:00:00.000Z',
      running: true,
      error: 'the recorder stopped',
      endedAt: '2026-06-01T00:00:00.000Z',
    });
    expect(marked.map((m) => m.session.id).sort()).toEqual([session(2).id, session(3).id]);
    expect((await store.getSession(session(1).id))?.state).toBe('ended');
  });

  it('refuses a new session with its own error, answered 507 with a sentence at the edge', async () => {
    const err = await store.insertSession({ ...session(99, 'pending'), error: BIG }).catch((e) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect(err).toMatchObject({ code: 'STORE_DISK_FULL' });
    expect(err.message).toMatch(/disk is full/);
    expect(statusFor(err)).toMatchObject({ code: 507, details: { causes: [{ reason: 'STORE_DISK_FULL' }] } });
  });

  it('logs the updates it could not store when closed while still full', async () => {
    await store.updateSession(session(1).id, { state: 'interrupted', error: BIG });
    await store.close();
    expect(logs.join('\n')).toMatch(/1 session update\(s\) could not be stored.*next start marks/);
  });
});
