// Shape checks for what a shim sends. A shim is trusted for its own node only, and even then a
// malformed message is refused whole rather than half-stored. Pure.
import type { ShimEventsMessage } from '../../common/shim-protocol.ts';
import type { ShimEvent } from '../../common/wire.ts';

export type Checked = { ok: true; events: ShimEvent[] } | { ok: false; problem: string };

const str = (v: unknown): v is string => typeof v === 'string';
const int = (v: unknown): v is number => Number.isSafeInteger(v);
const AUDIT_TIME = /^\d+\.\d+$/;

function eventProblem(e: Partial<ShimEvent>, i: number): string | null {
  const at = `events[${i}]`;
  if (typeof e !== 'object' || e === null) return `${at} is not an object`;
  if (!int(e.seq) || e.seq < 1) return `${at}.seq must be a positive integer`;
  if (!str(e.node) || !str(e.bootId) || e.bootId.length === 0) return `${at} needs node and bootId`;
  if (!int(e.auditSerial) || !str(e.auditTime) || !AUDIT_TIME.test(e.auditTime))
    return `${at} needs auditSerial and auditTime "sec.ms"`;
  if (e.containerId !== null && !str(e.containerId)) return `${at}.containerId must be a string or null`;
  if (!Array.isArray(e.raw) || !e.raw.every(str)) return `${at}.raw must be the audit lines`;
  const item = e.kind === 'exec' ? e.exec : e.kind === 'alert' ? e.alert : undefined;
  if (typeof item !== 'object' || item === null) return `${at} must be an exec or an alert with its body`;
  if (!Array.isArray(item.argv) || !item.argv.every(str) || !str(item.time))
    return `${at}.${e.kind} needs argv and time`;
  if (item.session !== null && !str(item.session)) return `${at}.${e.kind}.session must be a string or null`;
  return null;
}

/** The events of one `events` message, or what is wrong with it. */
export function checkEventsMessage(text: string): Checked {
  let msg: Partial<ShimEventsMessage>;
  try {
    msg = JSON.parse(text) as Partial<ShimEventsMessage>;
  } catch {
    return { ok: false, problem: 'the message is not JSON' };
  }
  if (msg?.type !== 'events' || !Array.isArray(msg.events))
    return { ok: false, problem: 'expected {"type":"events","events":[...]}' };
  for (let i = 0; i < msg.events.length; i++) {
    const problem = eventProblem(msg.events[i]!, i);
    if (problem) return { ok: false, problem };
  }
  return { ok: true, events: msg.events };
}
