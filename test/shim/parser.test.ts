import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AuditRecord,
  decodeProctitle,
  fieldNames,
  fieldText,
  parseAuditLine,
  untrusted,
} from '../../shim/parser.ts';
import { fixtureFiles, fixtureLines } from './fixtures.ts';

function record(line: string) {
  const r = parseAuditLine(line);
  if (r.kind !== 'record') throw new Error(`expected a record, got ${r.code}`);
  return r;
}

describe('parseAuditLine header', () => {
  it('reads type, timestamp and serial', () => {
    const r = record('type=CWD msg=audit(1492037291.036:59):  cwd="/home/andrew_kroh"');
    expect([r.type, r.time, r.timeMs, r.serial, r.node, r.auditId]).toEqual([
      'CWD',
      '1492037291.036',
      1492037291036,
      59,
      null,
      '1492037291.036:59',
    ]);
    expect(fieldText(r.fields['cwd'])).toBe('/home/andrew_kroh');
  });

  it('reads a node= prefix', () => {
    const r = record(
      'node=auditdtest.a1959.org type=SYSCALL msg=audit(1451781471.394:194435): arch=c000003e pid=1281',
    );
    expect([r.node, r.type, r.serial, r.fields['pid']]).toEqual([
      'auditdtest.a1959.org',
      'SYSCALL',
      194435,
      '1281',
    ]);
  });

  it('maps numeric types and keeps UNKNOWN[n]', () => {
    expect(record('type=1300 msg=audit(1.001:2): pid=3').type).toBe('SYSCALL');
    expect(record('type=1999 msg=audit(1.001:2): pid=3').type).toBe('UNKNOWN[1999]');
    expect(record('type=UNKNOWN[1329] msg=audit(1481077231.371:480): x=1').type).toBe('UNKNOWN[1329]');
  });

  it('finds the record inside a syslog line (kernel printk path, no msg=)', () => {
    const r = record(
      '2024-09-17T18:17:29.014446+00:00 aks kernel: audit: type=1300 audit(1726575449.009:1078): arch=c000003e pid=7226',
    );
    expect([r.type, r.serial, r.fields['pid']]).toEqual(['SYSCALL', 1078, '7226']);
  });

  it('returns typed errors for bad lines, never throws', () => {
    expect(parseAuditLine('')).toMatchObject({ kind: 'error', code: 'empty' });
    expect(parseAuditLine('# a comment')).toMatchObject({ kind: 'error', code: 'no-type' });
    expect(parseAuditLine('type=SYSCALL hello')).toMatchObject({ kind: 'error', code: 'no-timestamp' });
    expect(parseAuditLine('type=SYSCALL msg=audit(12:34): x=1')).toMatchObject({ code: 'bad-timestamp' });
    expect(parseAuditLine('type=SYSCALL msg=audit(12.5:x): x=1')).toMatchObject({ code: 'bad-timestamp' });
  });
});

describe('parseAuditLine fields', () => {
  it('splits the ENRICHED section at 0x1d', () => {
    const r = record(
      'type=SYSCALL msg=audit(1795472631.768:1809): arch=c000003e syscall=59 success=yes tty=(none) comm="tail" key="ae_exec"\x1dARCH=x86_64 SYSCALL=execve AUID="unset" UID="root"',
    );
    expect(r.fields['syscall']).toBe('59');
    expect(r.fields['ARCH']).toBeUndefined();
    expect(r.enriched).toEqual({ ARCH: 'x86_64', SYSCALL: 'execve', AUID: '"unset"', UID: '"root"' });
  });

  it('decodes quoted, hex and (null) untrusted strings', () => {
    const r = record(
      'type=EXECVE msg=audit(1.000:1): argc=3 a0="perl" a1=2D65 a2=(null) a3=68C3A96C6C6F20776F726C64',
    );
    expect(untrusted(r.fields['a0'])).toBe('perl');
    expect(untrusted(r.fields['a1'])).toBe('-e');
    expect(untrusted(r.fields['a2'])).toBeNull();
    expect(untrusted(r.fields['a3'])).toBe('héllo world');
  });

  it("flattens a user-space msg='...' without shadowing outer fields", () => {
    const r = record(
      `type=ADD_GROUP msg=audit(1481076992.414:385): pid=1235 uid=0 msg='op=add-group id=1000 exe="/usr/sbin/groupadd" pid=9 res=success'`,
    );
    expect(r.fields['pid']).toBe('1235');
    expect(r.fields['op']).toBe('add-group');
    expect(untrusted(r.fields['exe'])).toBe('/usr/sbin/groupadd');
    expect(r.fields['msg']).toMatch(/^'op=add-group.*success'$/);
  });

  it('joins bare words to the previous unquoted value (AppArmor "(enforce)")', () => {
    const r = record(
      'type=SYSCALL msg=audit(1688638681.978:8214739): comm="gunicorn" subj=docker-default (enforce) key="pt"',
    );
    expect(r.fields['subj']).toBe('docker-default (enforce)');
    expect(fieldText(r.fields['key'])).toBe('pt');
  });

  it('decodes a NUL-separated PROCTITLE', () => {
    const r = record('type=PROCTITLE msg=audit(1.000:1): proctitle=636174002D76');
    expect(decodeProctitle(r.fields['proctitle'])).toEqual(['cat', '-v']);
  });
});

describe('parseAuditLine over every fixture', () => {
  for (const file of fixtureFiles()) {
    it(`parses ${file.split('/').pop()}`, () => {
      let records = 0;
      for (const line of fixtureLines(file)) {
        const r = parseAuditLine(line);
        if (r.kind === 'record') {
          records++;
          expect(r.serial).toBeGreaterThan(0);
          expect(r.type).toMatch(/^[A-Z_0-9[\]]+$/);
          expect(typeof r.fields).toBe('object');
        } else if (r.code !== 'empty') {
          // Only prose, comments, and rhel7's real "type=UNKNOWN[1329] msg=?" are not records.
          expect(line.startsWith('#') || !line.includes('audit(')).toBe(true);
        }
      }
      expect(records).toBeGreaterThan(0);
    });
  }
});

describe('parseAuditLine fuzz', () => {
  const real = fixtureFiles()
    .flatMap(fixtureLines)
    .filter((l) => l.includes('type='));

  it('never throws on random strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (s) => {
        const r = parseAuditLine(s);
        if (r.kind === 'record') void r.fields;
        expect(['record', 'error']).toContain(r.kind);
      }),
      { numRuns: 3000 },
    );
  });

  it('never throws on mutated real lines, and field access is safe', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...real),
        fc.array(fc.tuple(fc.nat(), fc.nat(), fc.string({ unit: 'binary', maxLength: 4 })), { maxLength: 6 }),
        (line, edits) => {
          let s = line;
          for (const [at, del, ins] of edits) {
            const i = at % (s.length + 1);
            s = s.slice(0, i) + ins + s.slice(i + (del % 5));
          }
          const r = parseAuditLine(s);
          if (r.kind === 'record') {
            void r.fields;
            void r.enriched;
            for (const v of Object.values(r.fields)) untrusted(v);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('AuditRecord.pick', () => {
  const NAMES = [
    'arch',
    'syscall',
    'success',
    'exit',
    'a0',
    'ppid',
    'pid',
    'auid',
    'uid',
    'tty',
    'comm',
    'exe',
    'key',
  ];
  const names = fieldNames(NAMES);
  const real = fixtureFiles()
    .flatMap(fixtureLines)
    .filter((l) => l.includes('type='));
  const same = (line: string) => {
    const r = parseAuditLine(line);
    if (r.kind !== 'record') return;
    // pick is field() for each name, in one pass; both before and after a full scan.
    expect(r.pick(names)).toEqual(NAMES.map((n) => r.field(n)));
    const scanned = parseAuditLine(line) as AuditRecord;
    void scanned.fields;
    expect(scanned.pick(names)).toEqual(NAMES.map((n) => scanned.field(n)));
  };

  it('reads what field() reads on every fixture line', () => {
    for (const line of real) same(line);
  });

  it('reads what field() reads on mutated lines (quoted spaces, repeated keys, ENRICHED)', () => {
    const pieces = [' ', '=', '"', ' pid=', 'pid=', ' key=', '\u001d', ' exe="a b"', 'a0=', ' ppid=7'];
    fc.assert(
      fc.property(
        fc.constantFrom(...real),
        fc.array(fc.tuple(fc.nat(), fc.nat(), fc.constantFrom(...pieces)), { maxLength: 6 }),
        (line, edits) => {
          let s = line;
          for (const [at, del, ins] of edits) {
            const i = at % (s.length + 1);
            s = s.slice(0, i) + ins + s.slice(i + (del % 5));
          }
          same(s);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('refuses names it could not match exactly', () => {
    expect(() => fieldNames(['a b'])).toThrow();
    expect(() => fieldNames(['a=b'])).toThrow();
    expect(() => fieldNames(['pid', 'pid'])).toThrow();
  });
});
