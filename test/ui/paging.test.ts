import { describe, expect, it } from 'vitest';
import type { SessionList, SessionQuery, SessionRecord } from '../../common/wire.ts';
import { decodeCursor, encodeCursor } from '../../server/store/store.ts';
import { visiblePage } from '../../server/ui/paging.ts';

function session(i: number): SessionRecord {
  return {
    id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    kind: 'exec',
    state: 'ended',
    user: i % 3 === 0 ? 'alice' : 'bob',
    groups: [],
    namespace: i % 2 ? 'default' : 'kube-system',
    command: ['sh'],
    tty: true,
    stdin: true,
    attribution: 'marker',
    auditId: 'x',
    startedAt: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
    recordInput: false,
  };
}

/** The store's contract in memory: newest first by (startedAt, id), keyset cursor, never OFFSET. */
function memoryStore(rows: SessionRecord[]) {
  const sorted = [...rows].sort((a, b) => (b.startedAt + b.id).localeCompare(a.startedAt + a.id));
  const queries: SessionQuery[] = [];
  const fetch = async (f: SessionQuery): Promise<SessionList> => {
    queries.push(f);
    const c = f.continue ? decodeCursor(f.continue) : null;
    const after = c ? sorted.filter((r) => r.startedAt + r.id < c.startedAt + c.id) : sorted;
    const matching = after.filter((r) => !f.user || r.user === f.user);
    const items = matching.slice(0, f.limit ?? 50);
    const more = matching.length > items.length;
    const last = items[items.length - 1];
    return { items, ...(more && last ? { continue: encodeCursor(last) } : {}) };
  };
  return { fetch, queries, sorted };
}

const keepWhere = (pred: (r: SessionRecord) => boolean) => async (rows: SessionRecord[]) => rows.map(pred);

describe('visible paging', () => {
  it('walks every visible row exactly once across pages, in order', async () => {
    const store = memoryStore(Array.from({ length: 1000 }, (_, i) => session(i)));
    const visible = (r: SessionRecord) => r.user === 'alice' || r.namespace === 'default';
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await visiblePage({
        filter: {},
        limit: 50,
        ...(cursor ? { continue: cursor } : {}),
        fetch: store.fetch,
        keep: keepWhere(visible),
        batch: 51,
        maxScanned: 5000,
      });
      expect(page.items.length).toBeLessThanOrEqual(50);
      seen.push(...page.items.map((r) => r.id));
      cursor = page.continue;
      pages++;
    } while (cursor && pages < 100);
    const expected = store.sorted.filter(visible).map((r) => r.id);
    expect(seen).toEqual(expected);
    expect(pages).toBe(Math.ceil(expected.length / 50));
  });

  it('resumes right after the last row shown, even mid-batch', async () => {
    const store = memoryStore(Array.from({ length: 30 }, (_, i) => session(i)));
    const first = await visiblePage({
      filter: {},
      limit: 5,
      fetch: store.fetch,
      keep: keepWhere(() => true),
      batch: 20,
      maxScanned: 100,
    });
    expect(first.items.map((r) => r.id)).toEqual(store.sorted.slice(0, 5).map((r) => r.id));
    expect(decodeCursor(first.continue!)).toEqual({
      startedAt: store.sorted[4]!.startedAt,
      id: store.sorted[4]!.id,
    });
    const second = await visiblePage({
      filter: {},
      limit: 5,
      continue: first.continue!,
      fetch: store.fetch,
      keep: keepWhere(() => true),
      batch: 20,
      maxScanned: 100,
    });
    expect(second.items[0]!.id).toBe(store.sorted[5]!.id);
  });

  it('stops after maxScanned rows with a cursor, so a sparse viewer never scans 100k rows per request', async () => {
    const store = memoryStore(Array.from({ length: 100_000 }, (_, i) => session(i)));
    const page = await visiblePage({
      filter: {},
      limit: 50,
      fetch: store.fetch,
      keep: keepWhere(() => false),
      batch: 500,
      maxScanned: 2000,
    });
    expect(page.items).toEqual([]);
    expect(page.scanned).toBe(2000);
    expect(decodeCursor(page.continue!)?.id).toBe(store.sorted[1999]!.id);
    expect(store.queries.every((q) => q.limit === 500)).toBe(true);
  });

  it('has no cursor on the last page', async () => {
    const store = memoryStore(Array.from({ length: 7 }, (_, i) => session(i)));
    const page = await visiblePage({
      filter: {},
      limit: 7,
      fetch: store.fetch,
      keep: keepWhere(() => true),
      batch: 8,
      maxScanned: 100,
    });
    expect(page.items).toHaveLength(7);
    expect(page.continue).toBeUndefined();
  });

  it('passes store filters through on every query', async () => {
    const store = memoryStore(Array.from({ length: 100 }, (_, i) => session(i)));
    const page = await visiblePage({
      filter: { user: 'alice' },
      limit: 10,
      fetch: store.fetch,
      keep: keepWhere(() => true),
      batch: 11,
      maxScanned: 100,
    });
    expect(page.items.every((r) => r.user === 'alice')).toBe(true);
    expect(store.queries.every((q) => q.user === 'alice')).toBe(true);
  });
});
