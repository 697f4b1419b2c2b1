// The export schema: ids depend on what an event is about only (a re-send after a restart or from
// another replica de-duplicates), ECS fields are where a SIEM looks for them.
import { describe, expect, it } from 'vitest';
import {
  breakGlassEvent,
  SIEM_SCHEMA,
  sessionEndedEvent,
  sessionStartedEvent,
  shimEventToSiem,
} from '../../common/siem-event.ts';
import type { SessionRecord, ShimEvent } from '../../common/wire.ts';

const session: SessionRecord = {
  id: '0b7c6a3e-9f1d-4c2a-8e5b-1a2b3c4d5e6f',
  kind: 'exec',
  state: 'running',
  user: 'alice',
  groups: ['dev', 'system:authenticated'],
  namespace: 'default',
  pod: 'web',
  container: 'web',
  containerId: 'c0ffee',
  node: 'node-1',
  command: ['sh'],
  tty: true,
  stdin: true,
  attribution: 'marker',
  auditId: '0b7c6a3e-9f1d-4c2a-8e5b-1a2b3c4d5e6f',
  startedAt: '2026-12-03T10:00:00.000Z',
  recordInput: false,
  reason: 'INC-1 disk full',
};

function exec(over: Partial<ShimEvent> = {}): ShimEvent {
  return {
    seq: 7,
    node: 'node-1',
    bootId: 'boot-a',
    auditSerial: 4242,
    auditTime: '1795472865.123',
    containerId: 'c0ffee',
    kind: 'exec',
    exec: {
      session: session.id,
      attribution: 'ancestry',
      argv: ['cat', '/etc/shadow'],
      pid: 300,
      ppid: 299,
      time: '2026-12-03T10:00:05.123Z',
      auditId: '1795472865.123:4242',
      tty: 'pts0',
      cwd: '/root',
      exe: '/bin/cat',
      uid: 0,
    },
    raw: ['type=EXECVE …'],
    ...over,
  };
}

describe('audited-exec.event/v1', () => {
  it('gives a session start and end ECS fields and ids that depend on the session only', () => {
    const started = sessionStartedEvent(session, 'replica-a');
    expect(started).toMatchObject({
      schema: SIEM_SCHEMA,
      type: 'session.started',
      '@timestamp': session.startedAt,
      event: { kind: 'event', category: ['session'], type: ['start'], action: 'session-started' },
      user: { name: 'alice', group: { name: ['dev', 'system:authenticated'] } },
      host: { name: 'node-1' },
      orchestrator: { namespace: 'default', resource: { type: 'pod', name: 'web' } },
      observer: { name: 'replica-a' },
      audited_exec: { session_id: session.id, session: { reason: 'INC-1 disk full' } },
    });
    expect(started.event.id).toBe(started.id);
    // Another replica, later: the same event, the same id.
    expect(sessionStartedEvent({ ...session }, 'replica-b').id).toBe(started.id);
    const ended = sessionEndedEvent(
      { ...session, state: 'ended', exitCode: 2, endedAt: '2026-12-03T10:05:00.000Z' },
      'replica-a',
    );
    expect(ended).toMatchObject({
      type: 'session.ended',
      '@timestamp': '2026-12-03T10:05:00.000Z',
      event: { outcome: 'failure' },
      audited_exec: { session: { exit_code: 2 } },
    });
    expect(ended.id).not.toBe(started.id);
    const terminated = sessionEndedEvent(
      {
        ...session,
        state: 'terminated',
        terminatedBy: 'mod',
        terminationReason: 'loop',
        endedAt: '2026-12-03T10:06:00.000Z',
      },
      'replica-a',
    );
    expect(terminated).toMatchObject({
      event: { outcome: 'failure' },
      audited_exec: { session: { state: 'terminated', terminated_by: 'mod', termination_reason: 'loop' } },
    });
    expect(terminated.audited_exec.session).not.toHaveProperty('exit_code');
  });

  it('keys a command by its audit identity: a resend (new seq, new replica) keeps the id', () => {
    const a = shimEventToSiem(exec(), 'replica-a')!;
    expect(a).toMatchObject({
      type: 'command',
      process: { pid: 300, parent: { pid: 299 }, args: ['cat', '/etc/shadow'], executable: '/bin/cat' },
      audited_exec: { session_id: session.id, command: { attribution: 'ancestry' } },
    });
    expect(shimEventToSiem(exec({ seq: 99 }), 'replica-b')!.id).toBe(a.id);
    // With its session: who ran it and in which pod, and still the same id.
    const withSession = shimEventToSiem(exec(), 'replica-a', session)!;
    expect(withSession).toMatchObject({
      user: { name: 'alice' },
      orchestrator: { resource: { name: 'web' } },
    });
    expect(withSession.id).toBe(a.id);
    expect(shimEventToSiem(exec({ auditSerial: 4243 }), 'replica-a')!.id).not.toBe(a.id);
    expect(shimEventToSiem(exec({ bootId: 'boot-b' }), 'replica-a')!.id).not.toBe(a.id);
  });

  it('makes alerts ECS alerts, and an alert of the same audit record another id than its exec', () => {
    const alert = shimEventToSiem(
      exec({
        kind: 'alert',
        alert: {
          alert: 'marker-forged',
          session: null,
          declared: session.id,
          pid: 300,
          ppid: 299,
          argv: ['env', `AUDITED_EXEC_SESSION=${session.id}`, 'sh'],
          time: '2026-12-03T10:00:05.123Z',
          auditId: '1795472865.123:4242',
          tty: null,
        },
      }),
      'replica-a',
      session,
    )!;
    // A process that only claims the session is not its user's doing.
    expect(alert.user).toBeUndefined();
    expect(alert).toMatchObject({
      type: 'alert',
      event: { kind: 'alert', action: 'marker-forged' },
      audited_exec: {
        session_id: session.id,
        alert: { kind: 'marker-forged', declared_session: session.id },
      },
    });
    expect(alert.id).not.toBe(shimEventToSiem(exec(), 'replica-a')!.id);
  });

  it('keys a break-glass use by its admission uid', () => {
    const use = {
      uid: 'a1b2',
      user: 'oncall',
      groups: ['audited-exec:break-glass'],
      action: 'pods/exec',
      namespace: 'prod',
      name: 'db-0',
      time: '2026-12-03T11:00:00.000Z',
    };
    const e = breakGlassEvent(use, 'replica-a');
    expect(e).toMatchObject({
      type: 'break-glass',
      event: { kind: 'alert', category: ['iam'], action: 'break-glass' },
      user: { name: 'oncall' },
      audited_exec: { break_glass: { action: 'pods/exec', resource: 'prod/db-0', admission_uid: 'a1b2' } },
    });
    expect(breakGlassEvent({ ...use, time: '2026-12-03T11:00:01.000Z' }, 'replica-b').id).toBe(e.id);
    expect(breakGlassEvent({ ...use, uid: 'c3d4' }, 'replica-a').id).not.toBe(e.id);
  });
});
