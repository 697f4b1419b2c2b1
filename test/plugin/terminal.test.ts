import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { enterRawTerminal, wantsTty } from '../../plugin/terminal.ts';

describe('wantsTty (kubectl SetupTTY)', () => {
  it('uses a TTY only with -i, -t and a terminal on stdin; warns only when -it meets a non-terminal', () => {
    expect(wantsTty({ stdin: true, tty: true }, true)).toEqual({ tty: true, warn: false });
    expect(wantsTty({ stdin: true, tty: true }, false)).toEqual({ tty: false, warn: true });
    expect(wantsTty({ stdin: false, tty: true }, true)).toEqual({ tty: false, warn: false });
    expect(wantsTty({ stdin: true, tty: false }, true)).toEqual({ tty: false, warn: false });
  });
});

describe('enterRawTerminal', () => {
  function fakes(size: { columns?: number; rows?: number }) {
    const modes: boolean[] = [];
    const stdin = Object.assign(new PassThrough(), {
      isTTY: true,
      setRawMode: (m: boolean) => modes.push(m),
    });
    const stdout = Object.assign(new EventEmitter(), size) as unknown as PassThrough & {
      columns?: number;
      rows?: number;
    };
    return { modes, stdin, stdout };
  }

  it('enters raw mode once and restores exactly once, also from the process exit hook', () => {
    const { modes, stdin, stdout } = fakes({ columns: 120, rows: 40 });
    const before = process.listenerCount('exit');
    const t = enterRawTerminal({ stdin, stdout });
    expect(modes).toEqual([true]);
    expect(process.listenerCount('exit')).toBe(before + 1);
    t.restore();
    t.restore();
    expect(modes).toEqual([true, false]);
    expect(process.listenerCount('exit')).toBe(before);
  });

  it('reports the size and every resize of the output terminal, 80x24 when unknown', () => {
    const { stdin, stdout } = fakes({});
    const t = enterRawTerminal({ stdin, stdout });
    expect(t.size()).toEqual({ width: 80, height: 24 });
    const seen: string[] = [];
    const off = t.onResize((s) => seen.push(`${s.width}x${s.height}`));
    Object.assign(stdout, { columns: 100, rows: 30 });
    stdout.emit('resize');
    off();
    stdout.emit('resize');
    expect(seen).toEqual(['100x30']);
    t.restore();
  });
});
