import { describe, expect, it } from 'vitest';
import { evaluatePolicy, parsePolicy } from '../../server/policy.ts';

const exec = { kind: 'exec' as const, namespace: 'prod-eu', pod: 'api-1' };
const dev = { groups: ['dev'] };

describe('policy', () => {
  const policy = parsePolicy({
    recordInput: false,
    exec: [
      { namespaces: ['prod-*'], requireReason: true },
      {
        namespaces: ['prod-*'],
        pods: ['api-?'],
        requireTicket: true,
        ticketPattern: '^OPS-[0-9]+$',
        recordInput: true,
      },
    ],
    nodeDebug: { requireReason: true, profiles: [{ groups: ['sre'], allow: ['general', 'sysadmin'] }] },
  });

  it('requires what every matching rule requires, with a sentence that says what to do', () => {
    expect(evaluatePolicy(policy, exec, dev)).toMatchObject({
      allowed: false,
      status: 422,
      message: expect.stringMatching(/pass --reason/),
    });
    expect(evaluatePolicy(policy, { ...exec, reason: 'x' }, dev)).toMatchObject({
      allowed: false,
      code: 'POLICY_TICKET_REQUIRED',
    });
    expect(evaluatePolicy(policy, { ...exec, reason: 'x', ticket: 'JIRA-1' }, dev)).toMatchObject({
      code: 'POLICY_TICKET_INVALID',
    });
    expect(evaluatePolicy(policy, { ...exec, reason: 'x', ticket: 'OPS-12' }, dev)).toEqual({
      allowed: true,
      recordInput: true,
    });
  });

  it('leaves unmatched namespaces and pods alone', () => {
    expect(evaluatePolicy(policy, { ...exec, namespace: 'dev' }, dev)).toEqual({
      allowed: true,
      recordInput: false,
    });
    expect(evaluatePolicy(policy, { ...exec, pod: 'api-10', reason: 'r' }, dev)).toEqual({
      allowed: true,
      recordInput: false,
    });
  });

  it('limits node debug profiles by group', () => {
    const node = { kind: 'node-debug' as const, reason: 'disk full' };
    expect(evaluatePolicy(policy, { ...node, profile: 'sysadmin' }, { groups: ['sre'] })).toMatchObject({
      allowed: true,
    });
    expect(evaluatePolicy(policy, { ...node, profile: 'sysadmin' }, dev)).toMatchObject({
      allowed: false,
      status: 403,
      message: expect.stringMatching(/allowed: none/),
    });
    expect(evaluatePolicy(policy, { kind: 'node-debug' }, { groups: ['sre'] })).toMatchObject({
      code: 'POLICY_REASON_REQUIRED',
    });
  });

  it('rejects malformed policy files naming the field', () => {
    expect(() => parsePolicy({ exec: [{ namespaces: 'prod' }] })).toThrow(
      /exec\[0\]\.namespaces must be a list/,
    );
    expect(() => parsePolicy({ exec: [{ ticketPattern: '(' }] })).toThrow(/not a valid regular expression/);
    expect(() => parsePolicy({ nodeDebug: { profiles: [{ groups: ['a'], allow: ['root'] }] } })).toThrow(
      /unknown profile "root"/,
    );
    expect(parsePolicy(null)).toEqual({ recordInput: false, exec: [], nodeDebug: {} });
  });
});
