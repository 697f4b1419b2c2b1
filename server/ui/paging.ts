// One page of the sessions list as a viewer may see it. The store pages by keyset (startedAt, id);
// rows the viewer may not see or that miss the text search are skipped here, so the page's cursor
// is made from the last row *examined*, in the store's own cursor format, and the next page
// resumes exactly there. Never OFFSET: each request costs O(rows examined), whatever the depth.
import type { SessionList, SessionQuery, SessionRecord } from '../../common/wire.ts';
import { encodeCursor } from '../store/store.ts';

export interface PageRequest {
  /** store filters (without limit/continue) */
  filter: Omit<SessionQuery, 'limit' | 'continue'>;
  limit: number;
  continue?: string;
  fetch: (filter: SessionQuery) => Promise<SessionList>;
  /** decides, a batch at a time, which rows stay (visibility, text search) */
  keep: (rows: SessionRecord[]) => Promise<boolean[]>;
  /** store rows per query */
  batch: number;
  /** stop examining after this many rows even if the page is short (bounded latency) */
  maxScanned: number;
}

export interface VisiblePage {
  items: SessionRecord[];
  continue?: string;
  scanned: number;
}

export async function visiblePage(req: PageRequest): Promise<VisiblePage> {
  const items: SessionRecord[] = [];
  let cursor = req.continue;
  let scanned = 0;
  for (;;) {
    const page = await req.fetch({
      ...req.filter,
      limit: req.batch,
      ...(cursor ? { continue: cursor } : {}),
    });
    const kept = await req.keep(page.items);
    for (let i = 0; i < page.items.length; i++) {
      const row = page.items[i]!;
      scanned++;
      if (kept[i]) items.push(row);
      if (items.length === req.limit) {
        // Full page: resume right after this row, unless it was the very last row of the store.
        const more = i < page.items.length - 1 || page.continue !== undefined;
        return { items, scanned, ...(more ? { continue: encodeCursor(row) } : {}) };
      }
    }
    if (!page.continue || page.items.length === 0) return { items, scanned };
    cursor = page.continue;
    if (scanned >= req.maxScanned) {
      // Short page, more rows exist: the viewer follows "next" to keep looking.
      const last = page.items[page.items.length - 1]!;
      return { items, scanned, continue: encodeCursor(last) };
    }
  }
}
