// Keyset paging of a session's events for GET /api/v1/sessions/{id}/events. The order is the event
// store's (time, auditSerial, kind DESC), extended by the rest of the audit identity (node, bootId,
// auditTime) so that it is total and a cursor names exactly one position. Pure: no I/O.
import { AuditedExecError } from '../../common/errors.ts';
import type { ShimEvent } from '../../common/wire.ts';
import { badCursor } from '../store/errors.ts';

export const EVENTS_DEFAULT_PAGE = 500;
export const EVENTS_MAX_PAGE = 5000;

type Key = [time: string, auditSerial: number, kind: string, node: string, bootId: string, auditTime: string];
type Keyed = Pick<ShimEvent, 'node' | 'bootId' | 'auditSerial' | 'auditTime' | 'kind' | 'exec' | 'alert'>;

/** The store's `time` column: the exec's or alert's time, else the audit timestamp. */
function keyOf(e: Keyed): Key {
  const time = e.exec?.time ?? e.alert?.time ?? new Date(Number(e.auditTime) * 1000).toISOString();
  return [time, e.auditSerial, e.kind, e.node, e.bootId, e.auditTime];
}

function compare(a: Key, b: Key): number {
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x === y) continue;
    const less = x < y ? -1 : 1;
    return i === 2 ? -less : less; // kind DESC, as the store orders it
  }
  return 0;
}

export function encodeEventCursor(k: Key): string {
  return Buffer.from(JSON.stringify(k)).toString('base64url');
}

function decodeEventCursor(s: string): Key {
  try {
    const v: unknown = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
    if (
      Array.isArray(v) &&
      v.length === 6 &&
      typeof v[1] === 'number' &&
      [0, 2, 3, 4, 5].every((i) => typeof v[i] === 'string')
    )
      return v as Key;
  } catch {
    // fall through
  }
  throw badCursor('EVENTS_BAD_CURSOR');
}

/** `limit` and `continue` from the query string; rejects what it cannot read. */
export function parseEventPage(q: URLSearchParams): { limit: number; after?: Key } {
  const raw = q.get('limit');
  const limit = raw === null ? EVENTS_DEFAULT_PAGE : Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > EVENTS_MAX_PAGE) {
    throw new AuditedExecError('EVENTS_BAD_QUERY', `limit must be an integer from 1 to ${EVENTS_MAX_PAGE}`);
  }
  const c = q.get('continue');
  return c ? { limit, after: decodeEventCursor(c) } : { limit };
}

/** One page of `events` after the cursor, and the cursor for the next page when there is one. */
export function pageEvents<E extends Keyed>(
  events: readonly E[],
  page: { limit: number; after?: Key },
): { items: E[]; continue?: string } {
  const keyed = events.map((e) => ({ e, k: keyOf(e) })).sort((a, b) => compare(a.k, b.k));
  const after = page.after;
  const rest = after ? keyed.filter((x) => compare(x.k, after) > 0) : keyed;
  const items = rest.slice(0, page.limit);
  const last = items.at(-1);
  return rest.length > page.limit && last
    ? { items: items.map((x) => x.e), continue: encodeEventCursor(last.k) }
    : { items: items.map((x) => x.e) };
}
