import { describe, expect, it } from 'vitest';
import { type AuditEvent, EventAssembler } from '../../shim/assembler.ts';
import { type Exec, interpretEvent, type ProcessEvent } from '../../shim/exec-event.ts';
import { parseAuditLine } from '../../shim/parser.ts';
import { ausearch, FIXTURES, fixtureFiles, fixtureLines, hasAusearch } from './fixtures.ts';

function processEvents(file: string): ProcessEvent[] {
  const out: ProcessEvent[] = [];
  const asm = new EventAssembler({
    onEvent: (e: AuditEvent) => {
      const p = interpretEvent(e);
      if (p) out.push(p);
    },
  });
  for (const line of fixtureLines(file)) {
    const r = parseAuditLine(line);
    if (r.kind === 'record') asm.push(r);
  }
  asm.flush();
  return out;
}

/** argv as `ausearch -i` prints it: "argc=N a0=… a1=…", values unquoted with control bytes as
 *  \ooo. Split arguments (aN_len) print per piece; they and the rest are left out (null) and
 *  checked against known values in the live-capture tests below. */
function ausearchArgv(file: string, serial: number): (string | null)[] {
  const text = ausearch(['-i', '--input', file, '-a', String(serial)]);
  const line = text.split('\n').find((l) => l.startsWith('type=EXECVE') && l.includes(' argc='));
  if (!line) return [];
  const argc = Number(/ argc=(\d+)/.exec(line)![1]);
  const body = line.slice(line.indexOf(' argc='));
  const argv: (string | null)[] = [];
  let pos = body.indexOf(' a0=');
  for (let i = 0; i < argc; i++) {
    if (pos < 0 || !body.startsWith(` a${i}=`, pos)) {
      // a split argument: it and everything after it continue on later EXECVE lines.
      while (argv.length < argc) argv.push(null);
      break;
    }
    const start = pos + ` a${i}=`.length;
    const next = i + 1 < argc ? body.indexOf(` a${i + 1}`, start) : body.length;
    const raw = body.slice(start, next < 0 ? body.length : next).replace(/ $/, '');
    argv.push(raw.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8))));
    pos = next;
  }
  return argv;
}

describe.skipIf(!hasAusearch())('Exec argv equals ausearch -i', () => {
  for (const file of fixtureFiles().filter((f) => !f.includes('container-excerpts'))) {
    const execs = processEvents(file).filter((p): p is Exec => p.kind === 'exec');
    if (execs.length === 0) continue;
    it(file.split('/').pop()!, () => {
      for (const exec of execs) {
        const expected = ausearchArgv(file, exec.serial);
        expect(exec.argv.length, exec.auditId).toBe(expected.length);
        expected.forEach((arg, i) => {
          if (arg !== null) expect(exec.argv[i], `${exec.auditId} a${i}`).toBe(arg);
        });
      }
    });
  }
});

describe('Exec from the live capture', () => {
  const events = processEvents(`${FIXTURES}/live-session-scenario.log`);
  const execs = events.filter((p): p is Exec => p.kind === 'exec' && p.success);

  it('decodes spaces, quotes, control bytes, non-ASCII and an empty argument exactly', () => {
    const echo = execs.find((e) => e.argv[0] === '/bin/echo')!;
    expect(echo.argv).toEqual(['/bin/echo', 'a b', "it's", '"dq"', 'héllo wörld', 'tab\tnl\nx', '']);
    expect(echo).toMatchObject({ exe: '/usr/bin/echo', comm: 'echo', uid: 0, tty: null, argvComplete: true });
    expect(echo.cwd).toBe('/work/main');
  });

  it('joins aN[i] pieces across EXECVE records (hex and quoted)', () => {
    const t = execs.find((e) => e.argv[0] === '/bin/true' && e.argv.length === 3)!;
    expect(t.argv[1]).toBe('é'.repeat(4000));
    expect(t.argv[2]).toBe('a'.repeat(9000));
    expect(t.argvComplete).toBe(true);
    // PROCTITLE is truncated: a hint, never argv.
    expect(t.proctitle!.join(' ').length).toBeLessThan(200);
  });

  it('reads fork events as parent → child, and failed execs as unsuccessful', () => {
    const forks = events.filter((p) => p.kind === 'fork');
    expect(forks.length).toBeGreaterThan(5);
    for (const f of forks) expect(f.childPid).toBeGreaterThan(f.parentPid - 100000);
    expect(events.some((p) => p.kind === 'exec' && !p.success)).toBe(true);
  });

  it('ignores clone with CLONE_THREAD and non-process syscalls', () => {
    const line = (a0: string) => [
      `type=SYSCALL msg=audit(1.000:1): arch=c000003e syscall=56 success=yes exit=500 a0=${a0} items=0 ppid=1 pid=10 uid=0 tty=(none) comm="x" exe="/x"`,
    ];
    const ev = (a0: string): AuditEvent => ({
      node: null,
      serial: 1,
      time: '1.000',
      timeMs: 1000,
      records: line(a0).map((l) => parseAuditLine(l) as never),
    });
    expect(interpretEvent(ev('3d0f00'))).toBeNull();
    expect(interpretEvent(ev('1200011'))).toMatchObject({ kind: 'fork', parentPid: 10, childPid: 500 });
  });
});
