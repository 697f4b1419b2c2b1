import { describe, expect, it } from 'vitest';
import { type AuditEvent, EventAssembler } from '../../shim/assembler.ts';
import { parseAuditLine } from '../../shim/parser.ts';
import { ausearch, fixtureFiles, fixtureLines, hasAusearch } from './fixtures.ts';

function assemble(lines: string[], opts: { timeoutMs?: number; lagRecords?: number } = {}) {
  const events: AuditEvent[] = [];
  const late: string[] = [];
  const asm = new EventAssembler({
    ...opts,
    onEvent: (e) => events.push(e),
    onLate: (r) => late.push(r.line),
  });
  for (const line of lines) {
    const r = parseAuditLine(line);
    if (r.kind === 'record') asm.push(r);
  }
  asm.flush();
  return { events, late, stats: asm.stats };
}

/** event key → record count, EOE excluded (auditd's own logs have none; some copies do). */
function groupsOf(events: AuditEvent[]): Map<string, number> {
  return new Map(events.map((e) => [`${e.node ?? ''}/${e.serial}`, e.records.length]));
}

/** ausearch --raw writes each event's records together. Where ausearch itself splits one serial in
 *  two (rhel7.log is a collage: serial 479's CWD sits 9 lines before its EXECVE) the parts are
 *  summed: the assembler keeps them in one event, which is what the serial means. */
function ausearchGroups(file: string): Map<string, number> {
  const groups = new Map<string, number>();
  for (const line of ausearch(['--raw', '-if', file]).split('\n')) {
    const r = parseAuditLine(line);
    if (r.kind !== 'record' || r.type === 'EOE') continue;
    const key = `${r.node ?? ''}/${r.serial}`;
    groups.set(key, (groups.get(key) ?? 0) + 1);
  }
  return groups;
}

describe.skipIf(!hasAusearch())('assembler groups events as ausearch --raw does', () => {
  // The container excerpts are syslog copies ausearch cannot read; they are covered in parser tests.
  const files = fixtureFiles().filter((f) => !f.includes('container-excerpts'));
  for (const file of files) {
    it(file.split('/').pop()!, () => {
      const { events, stats } = assemble(fixtureLines(file));
      expect(groupsOf(events)).toEqual(ausearchGroups(file));
      expect(stats.late).toBe(0);
    });
  }
});

describe('assembler', () => {
  const lines = (serial: number, types: string[], sec = 100) =>
    types.map((t) => `type=${t} msg=audit(${sec}.000:${serial}): x=1`);

  it('ends an event at PROCTITLE and emits it at once', () => {
    const events: AuditEvent[] = [];
    const asm = new EventAssembler({ onEvent: (e) => events.push(e) });
    for (const l of lines(7, ['SYSCALL', 'EXECVE', 'PROCTITLE'])) asm.push(parseAuditLine(l) as never);
    expect(events.map((e) => [e.serial, e.records.length])).toEqual([[7, 3]]);
    expect(asm.stats.open).toBe(0);
  });

  it('keeps an event open across interleaved later serials (out_of_order)', () => {
    const input = [
      ...lines(1, ['SYSCALL', 'CWD']),
      ...lines(2, ['SYSCALL']),
      ...lines(1, ['PATH']),
      ...lines(2, ['PATH']),
    ];
    const { events, stats } = assemble(input);
    expect(groupsOf(events)).toEqual(
      new Map([
        ['/1', 3],
        ['/2', 2],
      ]),
    );
    expect(stats.late).toBe(0);
  });

  it('closes by record lag, then counts a record for the emitted event as late', () => {
    const input = [
      ...lines(1, ['NETFILTER_CFG']),
      ...lines(2, ['SYSCALL', 'CWD', 'PATH', 'PATH']),
      ...lines(1, ['PATH']),
    ];
    const { events, late, stats } = assemble(input, { lagRecords: 2 });
    expect(events[0]!.records.length).toBe(1);
    expect(stats.late).toBe(1);
    expect(late[0]).toContain(':1): ');
  });

  it('keeps a syscall event open across hundreds of other records until its PROCTITLE', () => {
    // Exec storm with a full kernel backlog: SYSCALL and its EXECVE 318 records apart.
    const others: string[] = [];
    for (let s = 2; s < 82; s++) others.push(...lines(s, ['SYSCALL', 'CWD', 'PATH', 'PROCTITLE']));
    const input = [...lines(1, ['SYSCALL']), ...others, ...lines(1, ['EXECVE', 'CWD', 'PROCTITLE'])];
    const { events, stats } = assemble(input);
    expect(events.find((e) => e.serial === 1)!.records.map((r) => r.type)).toEqual([
      'SYSCALL',
      'EXECVE',
      'CWD',
      'PROCTITLE',
    ]);
    expect(stats.late).toBe(0);
  });

  it('closes by audit-time timeout (not wall clock) once a few records followed', () => {
    const events: AuditEvent[] = [];
    const asm = new EventAssembler({ onEvent: (e) => events.push(e), timeoutMs: 2000 });
    asm.push(parseAuditLine('type=SYSCALL msg=audit(100.000:1): x=1') as never);
    for (let s = 2; s < 12; s++)
      asm.push(parseAuditLine(`type=SYSCALL msg=audit(103.000:${s}): x=1`) as never);
    expect(events.map((e) => e.serial)).toContain(1);
    asm.expireBefore(106_000);
    expect(asm.stats.open).toBe(0);
  });

  it('does not count an EOE after PROCTITLE as late, nor emit empty events', () => {
    const { events, stats } = assemble([...lines(5, ['SYSCALL', 'PROCTITLE', 'EOE']), ...lines(6, ['EOE'])]);
    expect(events.length).toBe(1);
    expect(stats.late).toBe(0);
  });

  it('keeps nodes apart', () => {
    const input = [
      'node=a type=SYSCALL msg=audit(1.000:9): x=1',
      'node=b type=SYSCALL msg=audit(1.000:9): x=1',
    ];
    expect(assemble(input).events.map((e) => e.node)).toEqual(['a', 'b']);
  });
});
