// The reason a moderator gives, as it is stored and shown, and the status that carries it to the
// user's plugin (read back by its code, never its words).
import { describe, expect, it } from 'vitest';
import {
  checkReason,
  cleanReason,
  MAX_TERMINATION_REASON,
  terminationOf,
  terminationSentence,
  terminationStatus,
} from '../../common/termination.ts';

describe('termination', () => {
  it('cleans a reason: escape sequences go whole, controls and bidi overrides become spaces', () => {
    expect(cleanReason('INC-7: runaway\u001b[31m job\u001b]0;owned\u0007')).toBe('INC-7: runaway job');
    expect(cleanReason(' a\r\n\tb\u202e c\u0000 ')).toBe('a b c');
    expect(cleanReason('naïve — “quoted” <b>')).toBe('naïve — “quoted” <b>');
  });

  it('refuses a missing, blank or over-long reason with a sentence, and keeps a long enough one', () => {
    for (const bad of [undefined, 42, '', ' \u001b[0m ']) {
      expect(checkReason(bad)).toEqual({ problem: expect.stringContaining('a reason is required') });
    }
    expect(checkReason('x'.repeat(MAX_TERMINATION_REASON + 1))).toEqual({
      problem: expect.stringContaining(`at most ${MAX_TERMINATION_REASON}`),
    });
    expect(checkReason(`  ${'x'.repeat(MAX_TERMINATION_REASON)}  `)).toEqual({
      reason: 'x'.repeat(MAX_TERMINATION_REASON),
    });
  });

  it('round-trips who and why through the status, and finds nothing in other statuses', () => {
    const t = { by: 'mod', reason: 'stop "now"' };
    const status = JSON.parse(JSON.stringify(terminationStatus(t)));
    expect(terminationOf(status)).toEqual(t);
    expect(status.message).toBe(terminationSentence(t));
    expect(terminationSentence(t)).toBe('session terminated by mod: "stop \\"now\\""');
    expect(
      terminationOf({ ...status, details: { causes: [{ reason: 'RECORDING_FAILED' }] } }),
    ).toBeUndefined();
    expect(terminationOf(null)).toBeUndefined();
  });
});
