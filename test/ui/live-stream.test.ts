import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LineSplitter, readCastHeader, tailLines } from '../../server/ui/cast-tail.ts';
import { displayLine, displayOutput, LiveCast, sseMessage } from '../../server/ui/live-stream.ts';

describe('LineSplitter', () => {
  it('keeps partial lines (and split UTF-8) until the newline arrives', () => {
    const s = new LineSplitter();
    const bytes = Buffer.from('[1,"o","é"]\n[2,', 'utf8');
    expect(s.push(bytes.subarray(0, 9))).toEqual([]);
    expect(s.push(bytes.subarray(9))).toEqual(['[1,"o","é"]']);
    expect(s.push(Buffer.from('"o","x"]\n'))).toEqual(['[2,"o","x"]']);
  });
});

describe('LiveCast', () => {
  it('folds the backlog into a reset and streams later events; input is never streamed', () => {
    const c = new LiveCast();
    expect(c.line('{"version":2,"width":100,"height":30}')).toBeNull();
    expect(c.line('[0.5,"o","hello "]')).toEqual([0.5, 'o', 'hello ']);
    expect(c.line('[0.6,"i","secret"]')).toBeNull();
    expect(c.line('[0.7,"r","120x40"]')).toEqual([0.7, 'r', { cols: 120, rows: 40 }]);
    expect(c.line('[1.0,"o","world"]')).toEqual([1, 'o', 'world']);
    expect(c.line('not json')).toBeNull();
    expect(c.reset()).toEqual({ cols: 120, rows: 40, time: 1, init: 'hello world' });
    expect(sseMessage({ a: 'x\ny' })).toBe('data: {"a":"x\\ny"}\n\n');
    expect(sseMessage(null, 'done')).toBe('event: done\ndata: null\n\n');
  });
});

describe('display of non-tty output', () => {
  it('streams a marker (a moderator ended the session) without adding it to the screen', () => {
    const c = new LiveCast();
    c.line('{"version":2,"width":80,"height":24}');
    c.line('[0.5,"o","$ "]');
    expect(c.line('[2.5,"m","terminated by mod: loop"]')).toEqual([2.5, 'm', 'terminated by mod: loop']);
    expect(c.reset()).toEqual({ cols: 80, rows: 24, time: 2.5, init: '$ ' });
  });

  it('adds CR before bare LF only, and only in output events', () => {
    expect(displayOutput('a\nb\r\nc\n')).toBe('a\r\nb\r\nc\r\n');
    expect(displayLine('[0.5,"o","one\\ntwo\\n"]')).toBe('[0.5,"o","one\\r\\ntwo\\r\\n"]');
    expect(displayLine('[0.5,"i","x\\n"]')).toBe('[0.5,"i","x\\n"]');
    expect(displayLine('{"version":2,"width":80,"height":24}')).toBe('{"version":2,"width":80,"height":24}');
    expect(displayLine('[0.5,"o","cut')).toBe('[0.5,"o","cut');
    const live = new LiveCast({ tty: false });
    live.line('{"version":2,"width":80,"height":24}');
    expect(live.line('[1,"o","x\\n"]')).toEqual([1, 'o', 'x\r\n']);
  });
});

describe('tailLines', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('follows a growing file and ends once the session is done', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ui-tail-'));
    dirs.push(dir);
    const path = join(dir, 's.cast');
    await writeFile(path, '{"version":2,"width":80,"height":24}\n[0.1,"o","a"]\n[0.2,');
    let done = false;
    const ac = new AbortController();
    const got: (string | null)[] = [];
    const reader = (async () => {
      for await (const line of tailLines({ path, signal: ac.signal, isDone: async () => done, pollMs: 20 })) {
        got.push(line);
        if (line === '[0.2,"o","b"]') {
          await appendFile(path, '[0.3,"o","c"]\n');
          done = true;
        }
      }
    })();
    // The first caught-up marker proves the partial line was held back.
    while (!got.includes(null)) await new Promise((r) => setImmediate(r));
    expect(got.filter((l) => l !== null)).toEqual(['{"version":2,"width":80,"height":24}', '[0.1,"o","a"]']);
    await appendFile(path, '"o","b"]\n');
    await reader;
    expect(got.filter((l) => l !== null)).toEqual([
      '{"version":2,"width":80,"height":24}',
      '[0.1,"o","a"]',
      '[0.2,"o","b"]',
      '[0.3,"o","c"]',
    ]);
  });

  it('stops when aborted', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ui-tail-'));
    dirs.push(dir);
    const path = join(dir, 's.cast');
    await writeFile(path, '');
    const ac = new AbortController();
    const it = tailLines({ path, signal: ac.signal, isDone: async () => false, pollMs: 10 });
    expect((await it.next()).value).toBeNull();
    ac.abort();
    expect((await it.next()).done).toBe(true);
  });
});

describe('readCastHeader', () => {
  it('reads the header line, and null for empty or foreign files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ui-head-'));
    try {
      const path = join(dir, 'a.cast');
      await writeFile(path, '{"version":2,"width":90,"height":30,"timestamp":1700000000}\n[0.1,"o","x"]\n');
      expect(await readCastHeader(path)).toEqual({ width: 90, height: 30, timestamp: 1700000000 });
      await writeFile(path, '');
      expect(await readCastHeader(path)).toBeNull();
      await writeFile(path, '{"version":3}\n');
      expect(await readCastHeader(path)).toBeNull();
      expect(await readCastHeader(join(dir, 'missing.cast'))).toBeNull();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
