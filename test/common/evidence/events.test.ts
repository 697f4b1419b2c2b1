import { describe, expect, it } from 'vitest';
import { eventKey, parseEvents, renderEvents } from '../../../common/evidence/events.ts';
import type { ShimEvent } from '../../../common/wire.ts';

// One audit event (serial 42) that yielded both an exec and an unrecorded-tty alert, plus a resend
// of the exec (same identity, another seq).
const base = {
  node: 'n1',
  bootId: 'b',
  auditSerial: 42,
  auditTime: '1700000000.123',
  containerId: 'c',
  raw: [],
};
const exec: ShimEvent = {
  ...base,
  seq: 1,
  kind: 'exec',
  exec: {
    session: null,
    attribution: null,
    argv: ['bash'],
    pid: 10,
    ppid: 9,
    time: '2023-11-14T22:13:20.123Z',
    auditId: '1700000000.123:42',
    tty: 'pts0',
    cwd: '/',
    exe: '/bin/bash',
    uid: 0,
  },
};
const alert: ShimEvent = {
  ...base,
  seq: 2,
  kind: 'alert',
  alert: {
    alert: 'unrecorded-tty',
    session: null,
    pid: 10,
    ppid: 9,
    argv: ['bash'],
    time: '2023-11-14T22:13:20.123Z',
    auditId: '1700000000.123:42',
    tty: 'pts0',
    containerId: 'c',
  },
};

describe('evidence events.jsonl', () => {
  it('keeps the exec and the alert of one audit event, and drops only true resends', () => {
    const rendered = renderEvents([alert, exec, { ...exec, seq: 3 }]);
    expect(rendered.count).toBe(2);
    const { events, problems } = parseEvents(rendered.text);
    expect(problems).toEqual([]);
    expect(events.map((e) => e.kind)).toEqual(['exec', 'alert']);
  });

  it('renders the same bytes whatever order the two arrived in', () => {
    expect(renderEvents([alert, exec]).sha256).toBe(renderEvents([exec, alert]).sha256);
  });

  it('keys on kind as the store does', () => {
    expect(eventKey(exec)).not.toBe(eventKey(alert));
    const resend: ShimEvent = { ...exec, seq: 9 };
    expect(eventKey(exec)).toBe(eventKey(resend));
  });
});
