// Display helpers for the pages. Pure: the caller passes "now" where a relative value is needed.
import type { SessionRecord } from '../../common/wire.ts';
import { kindInfo } from '../sessions/kinds.ts';

/** 0:07, 12:03, 1:02:03 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '';
  const s = Math.floor(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** Position in a recording: 0:00.9, 1:02.3, 1:02:03 (tenths while under an hour). */
export function formatOffset(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '';
  if (seconds >= 3600) return formatDuration(seconds);
  const tenths = Math.floor(seconds * 10) / 10;
  return `${formatDuration(tenths)}.${Math.floor((tenths * 10) % 10)}`;
}

/** Seconds a session ran (running sessions: until now). */
export function sessionSeconds(s: Pick<SessionRecord, 'startedAt' | 'endedAt'>, now: number): number {
  const start = Date.parse(s.startedAt);
  const end = s.endedAt ? Date.parse(s.endedAt) : now;
  return Number.isFinite(start) && Number.isFinite(end) ? Math.max(0, (end - start) / 1000) : Number.NaN;
}

/** "2026-11-23 22:19:05Z": UTC, sortable, unambiguous for auditors in several time zones. */
export function formatTime(iso: string | undefined): string {
  if (!iso) return '';
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return iso;
  return `${new Date(t).toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

/** argv as a shell would need it typed, so `bash -c 'a; b'` reads as one command. */
export function formatArgv(argv: readonly string[], max = 300): string {
  const text = argv.map(quoteArg).join(' ');
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function quoteArg(arg: string): string {
  if (arg === '') return "''";
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function isLive(s: Pick<SessionRecord, 'state'>): boolean {
  return s.state === 'running' || s.state === 'pending';
}

/** Where the session ran: ns/pod[/container] or node/NAME. */
export function sessionTarget(
  s: Pick<SessionRecord, 'kind' | 'namespace' | 'pod' | 'container' | 'node'>,
): string {
  return kindInfo(s.kind).target(s);
}

/** datetime-local input value ("2026-11-23T22:19") → ISO, or undefined when empty/invalid. */
export function parseTimeInput(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const withZone = /[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value}Z`;
  const t = Date.parse(withZone);
  return Number.isFinite(t) ? new Date(t).toISOString() : undefined;
}
