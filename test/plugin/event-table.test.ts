import { describe, expect, it } from 'vitest';
import type { SessionEventList, SessionRecord } from '../../common/wire.ts';
import { formatEventsTable, offset, when } from '../../plugin/event-table.ts';

const ID = '3f1b2c4d-5e6f-4a1b-8c2d-9e0f1a2b3c4d';
const session = {
  id: ID,
  startedAt: '2026-12-03T10:00:00.000Z',
  endedAt: '2026-12-03T10:00:04.500Z',
} as SessionRecord;

type Item = SessionEventList['items'][number];
const exec = (t: string, argv: string[], o: Record<string, unknown> = {}): Item =>
  ({
    kind: 'exec',
    exec: { session: ID, attribution: 'ancestry', argv, pid: 40, ppid: 1, time: t, ...o },
  }) as unknown as Item;

describe('events table', () => {
  it('times each row from the session start and marks what ran after its end', () => {
    expect(offset(session.startedAt, '2026-12-03T10:00:09.040Z')).toBe('+0:09.0');
    expect(offset(session.startedAt, '2026-12-03T10:02:05.250Z')).toBe('+2:05.3');
    expect(offset(session.startedAt, '2026-12-03T09:59:59.900Z')).toBe('-0:00.1');
    expect(when(session, '2026-12-03T10:00:04.400Z')).toBe('');
    expect(when(session, '2026-12-03T10:00:09.000Z')).toBe('after end');
    expect(when({}, '2026-12-03T10:00:09.000Z')).toBe('');
  });

  it('shows the marker wrapper as the session start, commands with their attribution, and alerts', () => {
    const table = formatEventsTable(
      session,
      [
        exec('2026-12-03T10:00:00.100Z', ['env', `AUDITED_EXEC_SESSION=${ID}`, 'bash'], {
          attribution: 'marker',
        }),
        exec('2026-12-03T10:00:01.000Z', ['ls', '-l']),
        exec('2026-12-03T10:00:09.000Z', ['touch', '/tmp/late'], {
          attribution: 'inferred',
          reason: 'pid-reuse-undecidable',
        }),
        {
          kind: 'alert',
          alert: {
            alert: 'marker-forged',
            session: null,
            declared: ID,
            pid: 77,
            ppid: 70,
            argv: ['env', 'AUDITED_EXEC_SESSION=x', 'sh'],
            time: '2026-12-03T10:00:02.000Z',
          },
        } as unknown as Item,
      ],
      { wide: false },
    );
    const lines = table.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^AT\s+WHEN\s+KIND\s+PID\s+PPID\s+ATTRIBUTION\s+COMMAND$/);
    expect(lines[1]).toMatch(/^\+0:00\.1\s+session-start\s+40\s+1\s+marker\s+env AUDITED_EXEC_SESSION=/);
    expect(lines[2]).toMatch(/^\+0:01\.0\s+command\s+40\s+1\s+ancestry\s+ls -l$/);
    expect(lines[3]).toMatch(
      /^\+0:09\.0\s+after end\s+command\s+40\s+1\s+inferred \(pid-reuse-undecidable\)\s+touch \/tmp\/late$/,
    );
    expect(lines[4]).toMatch(
      /^\+0:02\.0\s+marker-forged\s+77\s+70\s+declared 3f1b2c4d\s+env AUDITED_EXEC_SESSION=x sh$/,
    );
  });

  it('cuts long command lines unless wide, and words a gap in the audit log as a sentence', () => {
    const long = exec('2026-12-03T10:00:01.000Z', ['sh', '-c', 'x'.repeat(200)]);
    const gap = {
      kind: 'alert',
      alert: {
        alert: 'events-missing',
        session: null,
        pid: 0,
        ppid: 0,
        argv: [],
        time: '2026-12-03T10:00:03.000Z',
        missing: {
          fromSerial: 421,
          toSerial: 430,
          from: '2026-12-03T10:00:02Z',
          to: '2026-12-03T10:00:03Z',
          reason: 'auditd deleted the rotated log before it was read',
        },
      },
    } as unknown as Item;
    const short = formatEventsTable(session, [long, gap], { wide: false });
    expect(short).toContain('…');
    expect(short).toContain(
      'events may be missing from 2026-12-03T10:00:02Z to 2026-12-03T10:00:03Z (audit serials 421–430)',
    );
    expect(formatEventsTable(session, [long], { wide: true })).toContain('x'.repeat(200));
  });
});
