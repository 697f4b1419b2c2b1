import { describe, expect, it } from 'vitest';
import { parseImpersonation } from './impersonation.ts';

describe('parseImpersonation', () => {
  it('returns null without impersonation headers', () => {
    expect(parseImpersonation({ accept: ['*/*'] })).toEqual({ ok: true, request: null });
  });

  it('collects repeated groups, uid and percent-encoded extras with one check each', () => {
    const r = parseImpersonation({
      'impersonate-user': ['alice'],
      'impersonate-group': ['dev', 'ops'],
      'impersonate-uid': ['u-1'],
      'impersonate-extra-audited-exec.io%2fsession': ['s-1'],
    });
    expect(r.ok && r.request).toMatchObject({
      user: {
        username: 'alice',
        uid: 'u-1',
        groups: ['dev', 'ops', 'system:authenticated'],
        extra: { 'audited-exec.io/session': ['s-1'] },
      },
      checks: [
        { verb: 'impersonate', resource: 'users', name: 'alice' },
        { resource: 'groups', name: 'dev' },
        { resource: 'groups', name: 'ops' },
        { resource: 'userextras', subresource: 'audited-exec.io/session', name: 's-1' },
        { resource: 'uids', name: 'u-1' },
      ],
    });
  });

  it('checks service accounts as serviceaccounts in their namespace and adds their groups', () => {
    const r = parseImpersonation({ 'impersonate-user': ['system:serviceaccount:ns1:sa1'] });
    expect(r.ok && r.request?.checks[0]).toEqual({
      verb: 'impersonate',
      apiGroup: '',
      resource: 'serviceaccounts',
      namespace: 'ns1',
      name: 'sa1',
    });
    expect(r.ok && r.request?.user.groups).toEqual([
      'system:serviceaccounts',
      'system:serviceaccounts:ns1',
      'system:authenticated',
    ]);
  });

  it('refuses groups without a user', () => {
    expect(parseImpersonation({ 'impersonate-group': ['dev'] }).ok).toBe(false);
  });
});
