import { describe, expect, it } from 'vitest';
import type { ShimEvent } from '../../../common/wire.ts';
import { eventItems } from '../../../server/ui/events-source.ts';

const base = {
  node: 'n1',
  bootId: 'b',
  auditSerial: 7,
  auditTime: '1700000000.500',
  containerId: 'c',
  raw: [],
};
const when = { pid: 5, ppid: 4, time: '2023-11-14T22:13:20.500Z', auditId: '1700000000.500:7', tty: 'pts0' };
const exec: ShimEvent = {
  ...base,
  seq: 1,
  kind: 'exec',
  exec: { ...when, session: null, attribution: null, argv: ['sh'], cwd: '/', exe: '/bin/sh', uid: 0 },
};
const alert: ShimEvent = {
  ...base,
  seq: 2,
  kind: 'alert',
  alert: { ...when, alert: 'unrecorded-tty', session: null, argv: ['sh'], containerId: 'c' },
};

describe('eventItems', () => {
  it('shows both the exec and the alert one audit event produced, exec first, resends once', () => {
    const items = eventItems([alert, exec, { ...alert, seq: 3 }]);
    expect(items).toEqual([exec.exec, alert.alert]);
  });
});
