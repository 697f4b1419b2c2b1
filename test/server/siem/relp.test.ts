// RELP framing, as rsyslog's imrelp reads and writes it: frames out, frames back from a stream that
// arrives in pieces.
import { describe, expect, it } from 'vitest';
import { parseFrames, relpFrame } from '../../../server/siem/sinks/relp.ts';

describe('RELP frames', () => {
  it('writes TXNR COMMAND DATALEN [DATA] LF, the length in bytes', () => {
    expect(relpFrame(3, 'close', '').toString()).toBe('3 close 0\n');
    expect(relpFrame(2, 'syslog', 'héllo').toString()).toBe('2 syslog 6 héllo\n');
  });

  it('reads answers split anywhere, keeping what is not complete yet', () => {
    const stream = Buffer.from(
      '1 rsp 25 200 OK\nrelp_version=0\nabc\n2 rsp 6 200 OK\n3 rsp 0\n0 serverclose 0\n',
    );
    const got: { txnr: number; command: string; data: string }[] = [];
    let pending: Buffer = Buffer.alloc(0);
    for (let i = 0; i < stream.length; i += 7) {
      const r = parseFrames(Buffer.concat([pending, stream.subarray(i, i + 7)]));
      got.push(...r.frames);
      pending = r.rest;
    }
    expect(got).toEqual([
      { txnr: 1, command: 'rsp', data: '200 OK\nrelp_version=0\nabc' },
      { txnr: 2, command: 'rsp', data: '200 OK' },
      { txnr: 3, command: 'rsp', data: '' },
      { txnr: 0, command: 'serverclose', data: '' },
    ]);
    expect(pending.length).toBe(0);
  });
});
