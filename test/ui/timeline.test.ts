import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AttributedExec } from '../../common/wire.ts';
import { formatArgv, formatDuration, parseTimeInput, sessionTarget } from '../../server/ui/format.ts';
import { matchesAll, searchTerms } from '../../server/ui/search.ts';
import { outputLines, seekTargets } from '../../server/ui/seek-times.ts';
import { buildTimeline, playerMarkers, splitEvents } from '../../server/ui/timeline.ts';

const exec = (argv: string[], time: string, pid = 10): AttributedExec => ({
  session: 's',
  attribution: 'ancestry',
  argv,
  pid,
  ppid: 1,
  time,
  auditId: '1.0:1',
  tty: null,
  cwd: '/',
  exe: null,
  uid: 0,
});

describe('timeline', () => {
  it("marks the recorder's marker wrapper as the session's start and what ran after the end", () => {
    const start = Date.parse('2026-11-23T10:00:00.000Z');
    const t = buildTimeline(
      [
        exec(
          ['env', 'AUDITED_EXEC_SESSION=3f1b2c4d-5e6f-4a1b-8c2d-9e0f1a2b3c4d', 'bash'],
          '2026-11-23T10:00:00.050Z',
          5,
        ),
        exec(['ls'], '2026-11-23T10:00:02.000Z', 6),
        exec(['touch', '/tmp/late'], '2026-11-23T10:00:09.000Z', 7),
      ],
      { startMs: start, duration: 4.5, endedAt: '2026-11-23T10:00:04.500Z' },
    );
    expect(t.map((e) => [e.label.split(' ')[0], e.start ?? false, e.afterEnd ?? false, e.t])).toEqual([
      ['env', true, false, 0.05],
      ['ls', false, false, 2],
      ['touch', false, true, 4.5],
    ]);
    // Without an end (a session still running) nothing is after it.
    expect(
      buildTimeline([exec(['touch'], '2026-11-23T10:00:09.000Z')], { startMs: start })[0]!.afterEnd,
    ).toBeUndefined();
  });

  it('places commands at seconds from the recording start, sorted, clamped', () => {
    const start = Date.parse('2026-11-23T10:00:00.000Z');
    const t = buildTimeline(
      [
        exec(['sleep', '0.3'], '2026-11-23T10:00:01.500Z', 12),
        exec(['bash', '-c', 'echo one; echo two'], '2026-11-23T10:00:00.200Z', 11),
        exec(['early'], '2026-11-23T09:59:59.000Z', 9),
        exec(['late'], '2026-11-23T10:00:30.000Z', 13),
      ],
      { startMs: start, duration: 10 },
    );
    expect(t.map((e) => [e.t, e.label])).toEqual([
      [0, 'early'],
      [0.2, "bash -c 'echo one; echo two'"],
      [1.5, 'sleep 0.3'],
      [10, 'late'],
    ]);
    expect(playerMarkers(t)[1]).toEqual([0.2, "bash -c 'echo one; echo two'"]);
  });

  it('splits the events answer and ignores shapes it does not know', () => {
    const alert = {
      alert: 'unrecorded-tty',
      session: null,
      pid: 1,
      ppid: 0,
      argv: ['sh'],
      time: 'x',
      auditId: 'a',
      tty: 'pts0',
    };
    const { execs, alerts } = splitEvents([
      exec(['ls'], '2026-01-01T00:00:00Z'),
      alert,
      null,
      42,
      { foo: 1 },
    ]);
    expect(execs).toHaveLength(1);
    expect(alerts).toEqual([alert]);
  });
});

describe('format', () => {
  it('durations', () => {
    expect(formatDuration(7.9)).toBe('0:07');
    expect(formatDuration(723)).toBe('12:03');
    expect(formatDuration(3723)).toBe('1:02:03');
    expect(formatDuration(Number.NaN)).toBe('');
  });
  it('argv quoting', () => {
    expect(formatArgv(['echo', "it's", ''])).toBe(`echo 'it'\\''s' ''`);
    expect(formatArgv(['x'.repeat(50)], 10)).toHaveLength(10);
  });
  it('targets and time inputs', () => {
    expect(sessionTarget({ kind: 'node-debug', node: 'n1' })).toBe('node/n1');
    expect(sessionTarget({ kind: 'exec', namespace: 'default', pod: 'web', container: 'c' })).toBe(
      'default/web (c)',
    );
    expect(parseTimeInput('2026-11-23T10:00')).toBe('2026-11-23T10:00:00.000Z');
    expect(parseTimeInput('garbage')).toBeUndefined();
  });
  it('search terms are ANDed, case-insensitive', () => {
    expect(matchesAll('bash -c echo one\nreason: inc-42', searchTerms('ECHO inc-42'))).toBe(true);
    expect(matchesAll('bash', searchTerms('bash zsh'))).toBe(false);
  });
});

describe('seek targets: the frame that shows the command line', () => {
  const cmd = (t: number, program = 'ls') => ({ t, program });

  it('seeks just past the line near the exec that names the program: the echo of the typed line', () => {
    // The previous prompt's line ends after the exec on the recording's clock (clocks differ by ms);
    // the echo of "uname -s" is the line to show.
    const lines = [
      { t: 0.8279, text: 'demo-42\r' },
      { t: 0.8329, text: 'bash-5.2# uname -s\r\r' },
      { t: 0.8348, text: 'Linux\r\r' },
    ];
    expect(seekTargets([cmd(0.827, 'uname')], lines)).toEqual([0.834]);
  });

  it('else seeks past the first line that ends after the exec within the window', () => {
    expect(
      seekTargets(
        [cmd(1.0, 'sleep')],
        [
          { t: 1.004, text: 'x' },
          { t: 1.01, text: 'y' },
        ],
      ),
    ).toEqual([1.005]);
  });

  it('keeps the exec time when nothing ends near it', () => {
    expect(
      seekTargets(
        [cmd(1.0), cmd(5.0)],
        [
          { t: 0.5, text: '$ ls' },
          { t: 2.0, text: 'a' },
          { t: 9, text: 'b' },
        ],
      ),
    ).toEqual([1.0, 5.0]);
  });
});

describe('outputLines: reading a recording', () => {
  it('lists the lines output events end, across events, up to a time, and survives a torn last line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'seek-'));
    const path = join(dir, 'r.cast');
    await writeFile(
      path,
      [
        JSON.stringify({ version: 2, width: 80, height: 24, timestamp: 1 }),
        JSON.stringify([0.1, 'o', '$ ']),
        JSON.stringify([0.2, 'o', 'l']),
        JSON.stringify([0.5, 'i', 'ls\r']),
        JSON.stringify([0.6, 'o', 's\r\n']),
        JSON.stringify([0.7, 'r', '100x30']),
        JSON.stringify([0.8, 'o', 'a b\r\nc\r\n$ ']),
        JSON.stringify([9.0, 'o', 'late\r\n']),
        '[9.5, "o", "tor',
      ].join('\n'),
    );
    expect(await outputLines(path, 5)).toEqual([
      { t: 0.6, text: '$ ls\r' },
      { t: 0.8, text: 'a b\r' },
      { t: 0.8, text: 'c\r' },
    ]);
    expect((await outputLines(path, 100)).at(-1)).toEqual({ t: 9.0, text: '$ late\r' });
    await rm(dir, { recursive: true });
  });
});
