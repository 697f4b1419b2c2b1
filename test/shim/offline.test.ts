import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { attributeLines } from '../../shim/offline.ts';
import { FIXTURES, fixtureFiles, fixtureLines } from './fixtures.ts';

const WIRE_KEYS = [
  'session',
  'attribution',
  'argv',
  'pid',
  'ppid',
  'time',
  'auditId',
  'tty',
  'cwd',
  'exe',
  'uid',
];
const MAIN = join(import.meta.dirname, '../../shim/main.ts');

describe('offline golden output', () => {
  for (const file of fixtureFiles()) {
    it(file.split('/').pop()!, async () => {
      const result = attributeLines(fixtureLines(file));
      const jsonl = result.output.map((o) => JSON.stringify(o)).join('\n') + '\n';
      await expect(jsonl).toMatchFileSnapshot(`${file}.expected.jsonl`);
    });
  }
});

describe('offline live capture', () => {
  const result = attributeLines(fixtureLines(join(FIXTURES, 'live-session-scenario.log')));
  const A = '3f1b2c4d-5e6f-4a1b-8c2d-9e0f1a2b3c4d';
  const B = '7a8b9c0d-1e2f-4a3b-9c4d-5e6f7a8b9c0d';

  it('writes exactly the AttributedExec field names', () => {
    const execs = result.output.filter((o) => !('alert' in o));
    expect(execs.length).toBe(result.execs);
    for (const e of execs) expect(Object.keys(e)).toEqual(WIRE_KEYS);
  });

  it('takes markers a plain shell wrote for claims: marker-forged, never attribution', () => {
    // This capture's sessions were started by a host bash, not by a container runtime: exactly
    // what a workload framing a user looks like (the runc-started sessions: test/scenarios).
    const execs = result.output.filter((o) => !('alert' in o));
    expect(execs.filter((e) => e.session !== null)).toEqual([]);
    const forged = result.output.filter((o) => 'alert' in o && o.alert === 'marker-forged');
    expect(new Set(forged.map((a) => ('declared' in a ? a.declared : null)))).toEqual(new Set([A, B]));
    expect(result.output.filter((o) => 'alert' in o && o.alert !== 'marker-forged')).toEqual([]);
    // the nohup'd child's last exec, after its shell exited, is still read with its parent
    const touch = execs.filter((o) => o.argv[0] === '/usr/bin/touch');
    expect(touch).toEqual([expect.objectContaining({ ppid: 10418 })]);
    expect(readFileSync(join(FIXTURES, 'live-session-scenario.log'), 'utf8')).toMatch(/ppid=1 pid=10418 /);
    expect(result.badLines).toBe(0);
  });
});

describe('audited-exec-shim attribute (CLI)', () => {
  const live = join(FIXTURES, 'live-session-scenario.log');

  it('reads a file, gzip and stdin the same way, and counts bad lines without failing', () => {
    const plain = execFileSync(process.execPath, [MAIN, 'attribute', '--input', live], { encoding: 'utf8' });
    const gz = join(tmpdir(), `ae-shim-${process.pid}.log.gz`);
    writeFileSync(gz, gzipSync(readFileSync(live)));
    const fromGz = execFileSync(process.execPath, [MAIN, 'attribute', '--input', gz], { encoding: 'utf8' });
    rmSync(gz);
    const withJunk = `garbage line\n${readFileSync(live, 'utf8')}type=SYSCALL msg=audit(bad\n`;
    const res = execFileSync(process.execPath, [MAIN, 'attribute', '--input', '-'], {
      input: withJunk,
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    expect(fromGz).toBe(plain);
    expect(res).toBe(plain);
    expect(plain.trim().split('\n').length).toBeGreaterThan(20);
  });

  it('reports the summary and the first bad lines on stderr, and fails on a log without records', () => {
    const r = spawnSync(process.execPath, [MAIN, 'attribute', '--input', '-'], {
      input: 'junk\n',
      encoding: 'utf8',
    });
    expect(r.stderr).toContain('line 1: no type= field (no-type); skipped');
    expect(r.stderr).toMatch(/1 lines, 0 records, 0 events, 1 bad lines/);
    expect(r.stderr).toMatch(/none of the first 1 lines is an audit record/);
    expect(r.status).toBe(1);
  });
});
