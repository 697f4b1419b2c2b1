// `kubectl audited-exec events`: a session's attributed commands and alerts as a kubectl-style
// table. Each row says when it ran (from the session's start), whether that was after the session
// ended (a nohup'd command that outlived the shell), what it was, and how the shim tied it to the
// session. The marker wrapper the recorder starts (`env AUDITED_EXEC_SESSION=… CMD`) is the
// session's start, not a command the user typed. Pure: the caller passes the session and events.
import { afterSessionEnd } from '../common/after-end.ts';
import { describeMissing } from '../common/missing-range.ts';
import { markerOf } from '../common/session-marker.ts';
import type { SessionEventList, SessionRecord } from '../common/wire.ts';
import { layoutTable, oneLine, truncate } from './table.ts';

type StoredEvent = SessionEventList['items'][number];

const COMMAND_SHORT = 80;
const HEADER = ['AT', 'WHEN', 'KIND', 'PID', 'PPID', 'ATTRIBUTION', 'COMMAND'];

/** "+m:ss.s" from the session's start (negative when the clocks disagree). */
export function offset(fromIso: string, atIso: string): string {
  const ms = Date.parse(atIso) - Date.parse(fromIso);
  const sign = ms < 0 ? '-' : '+';
  const tenths = Math.round(Math.abs(ms) / 100);
  const minutes = Math.floor(tenths / 600);
  const seconds = ((tenths % 600) / 10).toFixed(1).padStart(4, '0');
  return `${sign}${minutes}:${seconds}`;
}

/** "after end" for what ran once the session had ended; "" otherwise. */
export function when(session: Pick<SessionRecord, 'endedAt'>, atIso: string): string {
  return afterSessionEnd(session, atIso) ? 'after end' : '';
}

function row(session: SessionRecord, e: StoredEvent, wide: boolean): string[] {
  const cut = (s: string) => (wide ? oneLine(s) : truncate(s, COMMAND_SHORT));
  if (e.exec) {
    const x = e.exec;
    const start = markerOf(x.argv) !== null;
    const how = x.attribution ? `${x.attribution}${x.reason ? ` (${x.reason})` : ''}` : 'none';
    return [
      offset(session.startedAt, x.time),
      when(session, x.time),
      start ? 'session-start' : 'command',
      String(x.pid),
      String(x.ppid),
      how,
      cut(x.argv.join(' ')),
    ];
  }
  const a = e.alert!;
  // A gap in the audit log is a sentence the reader needs whole.
  const what = a.missing ? describeMissing(a.missing) : cut(a.argv.join(' '));
  const detail = a.declared ? `declared ${a.declared.slice(0, 8)}` : '-';
  return [
    offset(session.startedAt, a.time),
    when(session, a.time),
    a.alert,
    String(a.pid),
    String(a.ppid),
    detail,
    what,
  ];
}

export function formatEventsTable(
  session: SessionRecord,
  events: readonly StoredEvent[],
  opts: { wide: boolean },
): string {
  return layoutTable(
    HEADER,
    events.map((e) => row(session, e, opts.wide)),
  );
}
