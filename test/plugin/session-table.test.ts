import { describe, expect, it } from 'vitest';
import type { SessionRecord } from '../../common/wire.ts';
import { formatSessionsTable, humanDuration, parseSince } from '../../plugin/session-table.ts';

const now = new Date('2026-11-20T12:00:00Z');

function session(over: Partial<SessionRecord>): SessionRecord {
  return {
    id: '3f2a9c1e-0000-4000-8000-000000000001',
    kind: 'exec',
    state: 'ended',
    user: 'alice',
    groups: ['system:authenticated'],
    namespace: 'default',
    pod: 'web',
    container: 'app',
    command: ['bash'],
    tty: true,
    stdin: true,
    attribution: 'marker',
    auditId: '3f2a9c1e-0000-4000-8000-000000000001',
    startedAt: '2026-11-20T11:55:00Z',
    endedAt: '2026-11-20T11:57:30Z',
    exitCode: 0,
    recordInput: false,
    commandCount: 12,
    ...over,
  };
}

describe('formatSessionsTable', () => {
  it('lays out a kubectl-style table with short ids, ages and exit states', () => {
    const text = formatSessionsTable(
      [
        session({ reason: 'INC-42 cache stuck' }),
        session({
          id: 'aaaaaaaa-1111-4000-8000-000000000002',
          kind: 'node-debug',
          user: 'bob',
          node: 'worker-1',
          state: 'interrupted',
          startedAt: '2026-11-18T09:00:00Z',
          endedAt: '2026-11-18T12:00:00Z',
          exitCode: null,
          commandCount: undefined,
        }),
        session({
          id: 'bbbbbbbb-2222-4000-8000-000000000003',
          state: 'running',
          endedAt: undefined,
          exitCode: undefined,
        }),
      ],
      { now, wide: false },
    );
    expect(text).toBe(
      [
        'ID         USER    KIND         TARGET          STARTED   DURATION   EXIT      COMMANDS   REASON',
        '3f2a9c1e   alice   exec         default/web     5m        2m30s      0         12         INC-42 cache stuck',
        'aaaaaaaa   bob     node-debug   node/worker-1   2d3h      3h         lost      -',
        'bbbbbbbb   alice   exec         default/web     5m        -          running   12',
        '',
      ].join('\n'),
    );
  });

  it('shows full ids and the extra columns with -o wide, and flattens multi-line reasons', () => {
    const text = formatSessionsTable(
      [session({ reason: 'line one\nline two', ticket: 'CHG-7', alertCount: 1 })],
      {
        now,
        wide: true,
      },
    );
    const [header, row] = text.split('\n');
    expect(header?.split(/\s{2,}/)).toEqual([
      'ID',
      'USER',
      'KIND',
      'TARGET',
      'CONTAINER',
      'NODE',
      'STARTED',
      'DURATION',
      'STATE',
      'EXIT',
      'COMMANDS',
      'ALERTS',
      'TICKET',
      'REASON',
    ]);
    expect(row).toContain('3f2a9c1e-0000-4000-8000-000000000001');
    expect(row).toMatch(/CHG-7\s+line one line two$/);
  });

  it('truncates long reasons in the normal view', () => {
    const text = formatSessionsTable([session({ reason: 'x'.repeat(80) })], { now, wide: false });
    expect(text).toContain(`${'x'.repeat(39)}…`);
    expect(text).not.toContain('x'.repeat(41));
  });
});

describe('humanDuration (kubectl HumanDuration)', () => {
  it.each([
    [0, '0s'],
    [119_000, '119s'],
    [150_000, '2m30s'],
    [600_000, '10m'],
    [179 * 60_000, '179m'],
    [3 * 3_600_000 + 5 * 60_000, '3h5m'],
    [47 * 3_600_000, '47h'],
    [51 * 3_600_000, '2d3h'],
    [30 * 86_400_000, '30d'],
    [800 * 86_400_000, '2y70d'],
    [-5000, '<invalid>'],
  ])('%i ms → %s', (ms, text) => {
    expect(humanDuration(ms)).toBe(text);
  });
});

describe('parseSince', () => {
  it('reads durations back from now and absolute times', () => {
    expect(parseSince('90m', now)).toBe('2026-11-20T10:30:00.000Z');
    expect(parseSince('1h30m', now)).toBe('2026-11-20T10:30:00.000Z');
    expect(parseSince('7d', now)).toBe('2026-11-13T12:00:00.000Z');
    expect(parseSince('2026-11-01T08:00:00Z', now)).toBe('2026-11-01T08:00:00.000Z');
  });

  it('refuses anything else with an example', () => {
    expect(() => parseSince('yesterday', now)).toThrow(/give a duration like 30m, 2h or 7d/);
    expect(() => parseSince('10', now)).toThrow(expect.objectContaining({ code: 'USAGE' }));
  });
});
