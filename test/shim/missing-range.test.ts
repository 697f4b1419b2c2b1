// The serial range a gap in the log covers: from the last kernel record before it to the first
// after it, passing over auditd's own DAEMON_* records (their own sequence, not kernel serials).
import { describe, expect, it } from 'vitest';
import { describeMissing } from '../../common/missing-range.ts';
import { GapTracker } from '../../shim/missing-range.ts';

const rec = (type: string, time: string, serial: number) => `type=${type} msg=audit(${time}:${serial}): x=1`;

describe('GapTracker', () => {
  it('names the serials and times between the last record before a gap and the first after it', () => {
    const g = new GapTracker();
    expect(g.line(rec('SYSCALL', '1796290000.100', 420), 420)).toBeNull();
    g.missing('auditd deleted a file');
    // The next file starts with auditd's DAEMON_ROTATE (its own sequence): not the gap's end.
    expect(g.line(rec('DAEMON_ROTATE', '1796290000.900', 9773), 9773)).toBeNull();
    expect(g.line('not a record', -1)).toBeNull();
    const gap = g.line(rec('SYSCALL', '1796290001.250', 431), 431);
    expect(gap?.range).toEqual({
      fromSerial: 421,
      toSerial: 430,
      from: '2026-12-03T09:26:40.100Z',
      to: '2026-12-03T09:26:41.250Z',
      reason: 'auditd deleted a file',
    });
    expect(gap?.alert).toMatchObject({
      alert: 'events-missing',
      session: null,
      auditId: '1796290000.100:421',
    });
    expect(gap).toMatchObject({ auditSerial: 421, auditTime: '1796290000.100' });
    expect(gap?.raw).toHaveLength(2);
    expect(describeMissing(gap!.range)).toBe(
      'events may be missing from 2026-12-03T09:26:40.100Z to 2026-12-03T09:26:41.250Z (audit serials 421–430): auditd deleted a file',
    );
    // Reported once.
    expect(g.line(rec('SYSCALL', '1796290001.260', 432), 432)).toBeNull();
  });

  it('without a record before the gap (a restart with none saved) the start is open', () => {
    const g = new GapTracker();
    g.missing('the checkpointed audit log was gone at start');
    const gap = g.line(rec('EXECVE', '1796290001.250', 7), 7);
    expect(gap?.range).toMatchObject({ fromSerial: null, toSerial: 6, from: null });
    expect(describeMissing(gap!.range)).toMatch(
      /^events may be missing from the last checkpoint to .* \(up to audit serial 6\)/,
    );
  });

  it('carries the last record across a restart', () => {
    const before = new GapTracker();
    before.line(rec('SYSCALL', '1796290000.100', 99), 99);
    const after = new GapTracker(before.lastLine);
    after.missing('gone');
    expect(after.line(rec('SYSCALL', '1796290002.000', 200), 200)?.range).toMatchObject({
      fromSerial: 100,
      toSerial: 199,
    });
  });
});
