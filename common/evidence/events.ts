// events.jsonl: the session's attributed commands and alerts, one canonical JSON object per
// line, in audit-time order, each carrying the raw audit lines it was built from. The server
// renders it the same way when signing and when bundling, so its digest is reproducible.
import type { AttributedExec, AttributionAlert, ShimEvent } from '../wire.ts';
import { canonicalJson } from './canonical-json.ts';
import { sha256Hex } from './format.ts';

export interface EvidenceEvent {
  /** 1-based line number: makes a reordering visible even between events with equal times */
  index: number;
  kind: 'exec' | 'alert';
  node: string;
  bootId: string;
  auditSerial: number;
  /** audit timestamp "sec.ms" */
  auditTime: string;
  containerId: string | null;
  exec?: AttributedExec;
  alert?: AttributionAlert;
  raw: string[];
}

export interface RenderedEvents {
  text: string;
  bytes: Uint8Array;
  count: number;
  sha256: string;
}

/** A stored event's identity, as the store's UNIQUE key has it. `kind` belongs to it: one audit
 *  event can yield both an exec and an alert (unrecorded-tty, marker-conflict), and both count. */
export function eventKey(
  e: Pick<ShimEvent, 'node' | 'bootId' | 'auditSerial' | 'auditTime' | 'kind'>,
): string {
  return `${e.node}\0${e.bootId}\0${e.auditSerial}\0${e.auditTime}\0${e.kind}`;
}

export function renderEvents(events: readonly ShimEvent[]): RenderedEvents {
  // The shim resends after reconnects; the store is idempotent on this key and so is this.
  const unique = new Map<string, ShimEvent>();
  for (const e of events) unique.set(eventKey(e), e);
  const sorted = [...unique.values()].sort(compareEvents);
  const text = sorted
    .map((e, i) => {
      const line: EvidenceEvent = {
        index: i + 1,
        kind: e.kind,
        node: e.node,
        bootId: e.bootId,
        auditSerial: e.auditSerial,
        auditTime: e.auditTime,
        containerId: e.containerId,
        exec: e.exec,
        alert: e.alert,
        raw: e.raw,
      };
      return `${canonicalJson(line)}\n`;
    })
    .join('');
  const bytes = new TextEncoder().encode(text);
  return { text, bytes, count: sorted.length, sha256: sha256Hex(bytes) };
}

type Ordered = Pick<ShimEvent, 'auditTime' | 'node' | 'bootId' | 'auditSerial' | 'kind'>;

function compareEvents(a: Ordered, b: Ordered): number {
  return (
    auditSeconds(a.auditTime) - auditSeconds(b.auditTime) ||
    cmp(a.node, b.node) ||
    cmp(a.bootId, b.bootId) ||
    a.auditSerial - b.auditSerial ||
    // One audit event's exec before its alert, as the store lists them: the digest must not
    // depend on the order the events arrived in.
    cmp(b.kind, a.kind)
  );
}

function auditSeconds(t: string): number {
  const n = Number(t);
  return Number.isFinite(n) ? n : Number.POSITIVE_INFINITY;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface ParsedEvents {
  events: EvidenceEvent[];
  problems: string[];
}

/** Reads events.jsonl back; every problem names its line. */
export function parseEvents(text: string): ParsedEvents {
  const problems: string[] = [];
  const events: EvidenceEvent[] = [];
  if (text !== '' && !text.endsWith('\n')) problems.push('events.jsonl: last line is not terminated');
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  let prev: EvidenceEvent | undefined;
  let ordered = true;
  lines.forEach((line, i) => {
    const n = i + 1;
    let e: EvidenceEvent;
    try {
      e = JSON.parse(line) as EvidenceEvent;
    } catch {
      problems.push(`events.jsonl: line ${n} is not JSON`);
      return;
    }
    if (typeof e !== 'object' || e === null || (e.kind !== 'exec' && e.kind !== 'alert')) {
      problems.push(`events.jsonl: line ${n} is not an exec or alert event`);
      return;
    }
    if (ordered && (e.index !== n || (prev && compareEvents(prev, e) > 0))) {
      // One report: after the first displaced line every later index is suspect too.
      ordered = false;
      problems.push(`events.jsonl: events out of order at line ${n}`);
    }
    events.push(e);
    prev = e;
  });
  return { events, problems };
}
