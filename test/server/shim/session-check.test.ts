// The rule ingestion applies to every event that names a session as its own (server/shim/
// session-check.ts): node and container must be the session's; the unknowns are decided as its
// header says.
import { describe, expect, it } from 'vitest';
import type { ShimEvent } from '../../../common/wire.ts';
import type { ContainerRef } from '../../../server/shim/pods.ts';
import {
  asMismatchAlert,
  claimedSession,
  type SessionFacts,
  sessionMismatch,
} from '../../../server/shim/session-check.ts';

const S = '11111111-2222-4333-8444-555555555555';
const WEB = 'a'.repeat(64);
const session: SessionFacts = {
  node: 'n1',
  containerId: WEB,
  namespace: 'default',
  pod: 'web',
  container: 'app',
};
const pods = new Map<string, ContainerRef>([
  [WEB, { namespace: 'default', pod: 'web', container: 'app' }],
  ['b'.repeat(64), { namespace: 'default', pod: 'web', container: 'app' }], // restarted
  ['c'.repeat(64), { namespace: 'default', pod: 'web', container: 'sidecar' }],
  ['d'.repeat(64), { namespace: 'default', pod: 'other', container: 'app' }],
]);
const containerOf = (id: string) => pods.get(id) ?? null;

function exec(over: Partial<ShimEvent> = {}): ShimEvent {
  return {
    seq: 1,
    node: 'n1',
    bootId: 'b',
    auditSerial: 7,
    auditTime: '1795472865.000',
    containerId: WEB,
    kind: 'exec',
    exec: {
      session: S,
      attribution: 'marker',
      argv: ['id'],
      pid: 10,
      ppid: 9,
      time: '2026-11-23T10:00:00.000Z',
      auditId: '1795472865.000:7',
      tty: null,
      cwd: '/',
      exe: '/usr/bin/id',
      uid: 0,
    },
    raw: ['type=EXECVE msg=audit(1795472865.000:7): argc=1 a0="id"'],
    ...over,
  };
}

describe('sessionMismatch', () => {
  it("accepts the session's own node and container, and the same pod's container after a restart", () => {
    expect(sessionMismatch(exec(), session, containerOf)).toBeNull();
    expect(sessionMismatch(exec({ containerId: 'b'.repeat(64) }), session, containerOf)).toBeNull();
  });

  it('refuses another node, another container of the pod, another pod, an unknown container', () => {
    expect(sessionMismatch(exec({ node: 'n2' }), session, containerOf)).toBe('node');
    expect(sessionMismatch(exec({ containerId: 'c'.repeat(64) }), session, containerOf)).toBe('container');
    expect(sessionMismatch(exec({ containerId: 'd'.repeat(64) }), session, containerOf)).toBe('container');
    expect(sessionMismatch(exec({ containerId: 'e'.repeat(64) }), session, containerOf)).toBe('container');
    expect(sessionMismatch(exec(), undefined, containerOf)).toBe('unknown-session');
  });

  it("places the container by the node's pod list when the session's id is not known yet", () => {
    const noId = { ...session, containerId: undefined };
    expect(sessionMismatch(exec(), noId, containerOf)).toBeNull();
    expect(sessionMismatch(exec({ containerId: 'c'.repeat(64) }), noId, containerOf)).toBe('container');
    expect(sessionMismatch(exec({ containerId: 'd'.repeat(64) }), noId, containerOf)).toBe('container');
    // Not (or no longer) in the pod list: a debug pod that ran, exited and was deleted.
    expect(sessionMismatch(exec({ containerId: 'e'.repeat(64) }), noId, containerOf)).toBeNull();
  });

  it('accepts an event whose container the shim could not read, on the right node only', () => {
    expect(sessionMismatch(exec({ containerId: null }), session, containerOf)).toBeNull();
    expect(sessionMismatch(exec({ containerId: null, node: 'n2' }), session, containerOf)).toBe('node');
  });
});

describe('claimedSession and asMismatchAlert', () => {
  it('checks execs and alerts that stay in a session, not claims that are alerts already', () => {
    expect(claimedSession(exec())).toBe(S);
    const forged = exec({
      kind: 'alert',
      exec: undefined,
      alert: {
        alert: 'marker-forged',
        session: null,
        declared: S,
        pid: 1,
        ppid: 0,
        argv: [],
        time: '',
        auditId: '',
        tty: null,
      },
    });
    expect(claimedSession(forged)).toBeNull();
  });

  it('keeps the audit identity and raw lines, and never the exec', () => {
    const e = exec({ node: 'n2' });
    const a = asMismatchAlert(e, S, session, 'node');
    expect(a).toMatchObject({
      seq: 1,
      node: 'n2',
      auditSerial: 7,
      kind: 'alert',
      raw: e.raw,
      alert: {
        alert: 'session-mismatch',
        session: null,
        declared: S,
        argv: ['id'],
        mismatch: { reason: 'node', was: 'exec', sessionNode: 'n1', sessionContainerId: WEB },
      },
    });
    expect(a.exec).toBeUndefined();
  });
});
