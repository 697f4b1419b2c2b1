// The offline tool with parser workers gives, byte for byte, what it gives on one thread: on every
// fixture (and its golden), on a generated log cut into many small jobs, from a file and from a
// pipe; and it fails clearly, never silently, on what is not an audit log or on a log that changes
// under it.
import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { repeatedLines } from '../../bench/audit-log-gen.ts';
import { attributeConfigFrom } from '../../shim/config.ts';
import { attributeStream, type StreamOptions } from '../../shim/offline.ts';
import { progressLine } from '../../shim/progress.ts';
import { FIXTURES, fixtureFiles } from './fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'ae-attrib-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(
  o: Omit<StreamOptions, 'out' | 'log'>,
): Promise<{ out: string; log: string[]; stats: Awaited<ReturnType<typeof attributeStream>> }> {
  let out = '';
  const log: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      out += chunk;
      cb();
    },
  });
  const stats = await attributeStream({ ...o, out: sink, log: (l) => log.push(l) });
  return { out, log, stats };
}

/** A log with every kind of line end and text the splitter must agree on. */
function awkwardLog(): Buffer {
  const live = readFileSync(join(FIXTURES, 'live-session-scenario.log'), 'utf8').split('\n');
  const { lines } = repeatedLines(live, 10_000);
  const parts: Buffer[] = [];
  lines.forEach((l, i) => {
    if (i % 499 === 0) parts.push(Buffer.from('not an audit line at all\n'));
    if (i % 751 === 0) parts.push(Buffer.from('type=SYSCALL msg=audit(12x.000:1): truncated\n'));
    if (i % 601 === 0) parts.push(Buffer.from(`${l}\r\n`));
    else if (i % 653 === 0) parts.push(Buffer.from(`${l} ünïcode\u2028tail\n`));
    else if (i % 701 === 0) parts.push(Buffer.concat([Buffer.from(l), Buffer.from([0xc3, 0x0a])]));
    else parts.push(Buffer.from(`${l}\n`));
  });
  // a truncated last line: no line end
  parts.push(Buffer.from(lines[1]!.slice(0, 80)));
  return Buffer.concat(parts);
}

describe('parser workers: the same output as one thread', () => {
  for (const file of fixtureFiles()) {
    it(`${file.split('/').pop()} (golden, cut into 97-byte jobs)`, async () => {
      const one = await run({ input: file, workers: 0 });
      const many = await run({ input: file, workers: 3, jobBytes: 97 });
      expect(many.out).toBe(one.out);
      expect(many.log).toEqual(one.log);
      // A golden with no exec is one empty line (offline.test.ts joins lines); the CLI writes nothing.
      const golden = readFileSync(`${file}.expected.jsonl`, 'utf8');
      expect(many.out).toBe(golden === '\n' ? '' : golden);
    });
  }

  // The runc captures of every shape (sessions, markers, orphans, pid reuse): no golden of this
  // kind beside them, so the single thread is the reference.
  const scenarios = join(FIXTURES, 'scenarios');
  for (const file of readdirSync(scenarios).filter((f) => f.endsWith('.log'))) {
    it(`scenarios/${file} (cut into 211-byte jobs)`, async () => {
      const one = await run({ input: join(scenarios, file), workers: 0 });
      const many = await run({ input: join(scenarios, file), workers: 2, jobBytes: 211 });
      expect(one.stats.execs).toBeGreaterThan(0);
      expect(many.out).toBe(one.out);
      expect(many.log).toEqual(one.log);
    });
  }

  const big = join(dir, 'awkward.log');
  writeFileSync(big, awkwardLog());

  // Four runs over ~10,000 records: generous on a loaded 2-core machine.
  it('a generated log with CRLF, U+2028, bad UTF-8, bad lines and a truncated last line', {
    timeout: 240_000,
  }, async () => {
    const one = await run({ input: big, workers: 0 });
    expect(one.stats.badLines).toBeGreaterThan(20);
    expect(one.stats.execs).toBeGreaterThan(500);
    for (const o of [{ workers: 1 }, { workers: 2, jobBytes: 4096 }, { workers: 3, jobBytes: 1000 }]) {
      const r = await run({ input: big, ...o });
      expect(r.out, JSON.stringify(o)).toBe(one.out);
      expect(r.log).toEqual(one.log);
    }
  });

  it('stdin (a pipe) streams through the same workers in order', async () => {
    const one = await run({ input: big, workers: 0 });
    const bytes = readFileSync(big);
    // In pieces that split lines, \r\n pairs and UTF-8 sequences.
    const pieces = Array.from({ length: Math.ceil(bytes.length / 7777) }, (_, i) =>
      bytes.subarray(i * 7777, (i + 1) * 7777),
    );
    const piped = await run({ input: '-', stdin: Readable.from(pieces), workers: 2, jobBytes: 50_000 });
    expect(piped.out).toBe(one.out);
    expect(piped.log).toEqual(one.log);
  });

  it('rotated files in order are one log, as on one thread', async () => {
    const live = join(FIXTURES, 'live-session-scenario.log');
    const one = await run({ input: [live, big], workers: 0 });
    const many = await run({ input: [live, big], workers: 2, jobBytes: 3000 });
    expect(many.out).toBe(one.out);
  });
});

describe('parser workers: bad input fails clearly', () => {
  it('a file that is not an audit log: SHIM_NOT_AUDIT_LOG, stopped early', async () => {
    const junk = join(dir, 'junk.bin');
    writeFileSync(junk, Buffer.from(Array.from({ length: 400_000 }, (_, i) => (i * 7919) % 256)));
    for (const workers of [0, 2]) {
      await expect(run({ input: junk, workers })).rejects.toMatchObject({
        code: 'SHIM_NOT_AUDIT_LOG',
        message: expect.stringMatching(/give an auditd log/),
      });
    }
  });

  it('a missing file or a directory: SHIM_INPUT, on one thread and on several', async () => {
    for (const workers of [0, 2]) {
      await expect(run({ input: join(dir, 'nope.log'), workers })).rejects.toMatchObject({
        code: 'SHIM_INPUT',
        message: expect.stringMatching(/Cannot read .*nope\.log \(ENOENT\)/),
      });
      await expect(run({ input: dir, workers })).rejects.toMatchObject({
        code: 'SHIM_INPUT',
        message: expect.stringMatching(/is a directory/),
      });
    }
  });

  it('a log cut short while it is read fails the run: SHIM_WORKER_FAILED, and what came before is written', async () => {
    const file = join(dir, 'shrinking.log');
    writeFileSync(file, awkwardLog());
    let out = '';
    let cut = false;
    const sink = new Writable({
      write(chunk, _enc, cb) {
        out += chunk;
        cb();
      },
    });
    const run2 = attributeStream({
      input: file,
      workers: 1,
      jobBytes: 8192,
      out: sink,
      log: () => {},
      onProgress: () => {
        if (!cut) truncateSync(file, 100_000);
        cut = true;
      },
    });
    await expect(run2).rejects.toMatchObject({
      code: 'SHIM_WORKER_FAILED',
      message: expect.stringMatching(/became shorter/),
    });
    expect(out.length).toBeGreaterThan(0);
    for (const line of out.trim().split('\n')) expect(() => JSON.parse(line)).not.toThrow();
  });

  it('--workers: a whole number from 0 to 64, else SHIM_CONFIG; --no-low-memory', () => {
    expect(attributeConfigFrom({ input: ['a'], workers: '0' }, {}, false).workers).toBe(0);
    expect(attributeConfigFrom({ input: ['a'] }, { AUDITED_EXEC_ATTRIBUTE_WORKERS: '3' }, true)).toEqual({
      inputs: ['a'],
      workers: 3,
      progress: true,
      lowMemory: true,
    });
    expect(
      attributeConfigFrom({ input: ['a'] }, { AUDITED_EXEC_ATTRIBUTE_LOW_MEMORY: '0' }, true).lowMemory,
    ).toBe(false);
    expect(attributeConfigFrom({ input: ['a'], lowMemory: false }, {}, true).lowMemory).toBe(false);
    expect(attributeConfigFrom({ input: ['a'] }, {}, false).workers).toBe(0);
    for (const bad of ['-1', '1.5', 'two', '65'])
      expect(() => attributeConfigFrom({ input: ['a'], workers: bad }, {}, false)).toThrow(
        expect.objectContaining({ code: 'SHIM_CONFIG' }),
      );
  });

  it('progress says how much of a file is read', () => {
    const stats = { records: 10, execs: 2, badLines: 1 } as Parameters<typeof progressLine>[0]['stats'];
    expect(progressLine({ bytes: 3 << 20, totalBytes: 12 << 20, stats })).toBe(
      'progress: 3 of 12 MiB read (25%), 10 records, 2 execs, 1 bad lines',
    );
    expect(progressLine({ bytes: 3 << 20, totalBytes: null, stats })).toMatch(/^progress: 3 MiB read,/);
  });
});
