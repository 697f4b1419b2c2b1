import { describe, expect, it } from 'vitest';
import { authorize, defaultPolicy, forbiddenMessage } from './rbac.ts';

const policy = defaultPolicy();
const alice = { username: 'alice', groups: ['dev', 'system:authenticated'] };
const bob = { username: 'bob', groups: ['viewers', 'system:authenticated'] };
const recorder = {
  username: 'system:serviceaccount:audited-exec:recorder',
  groups: ['system:serviceaccounts', 'system:serviceaccounts:audited-exec', 'system:authenticated'],
};

describe('rbac', () => {
  it('grants alice exec in her namespaces only', () => {
    const exec = { verb: 'get', apiGroup: '', resource: 'pods', subresource: 'exec', name: 'web' };
    expect(authorize(policy, alice, { ...exec, namespace: 'default' })).toBe(true);
    expect(authorize(policy, alice, { ...exec, namespace: 'kube-system' })).toBe(false);
    expect(authorize(policy, bob, { ...exec, namespace: 'default' })).toBe(false);
  });

  it('treats system:masters as superuser', () => {
    expect(
      authorize(
        policy,
        { username: 'admin', groups: ['system:masters'] },
        { verb: 'delete', apiGroup: 'x', resource: 'y' },
      ),
    ).toBe(true);
  });

  it('lets only the recorder impersonate the session extra', () => {
    const attrs = {
      verb: 'impersonate',
      apiGroup: 'authentication.k8s.io',
      resource: 'userextras',
      subresource: 'audited-exec.io/session',
      name: 'id',
    };
    expect(authorize(policy, recorder, attrs)).toBe(true);
    expect(authorize(policy, alice, attrs)).toBe(false);
  });

  it('gives every authenticated user discovery', () => {
    expect(authorize(policy, bob, { verb: 'get', path: '/apis/authorization.k8s.io/v1' })).toBe(true);
    expect(authorize(policy, bob, { verb: 'get', path: '/metrics' })).toBe(false);
  });

  it('words denials like the apiserver', () => {
    expect(
      forbiddenMessage('bob', {
        verb: 'get',
        apiGroup: '',
        resource: 'pods',
        subresource: 'exec',
        namespace: 'default',
        name: 'web',
      }),
    ).toBe(
      'pods "web" is forbidden: User "bob" cannot get resource "pods/exec" in API group "" in the namespace "default"',
    );
    expect(forbiddenMessage('x', { verb: 'list', apiGroup: 'audited-exec.io', resource: 'sessions' })).toBe(
      'sessions.audited-exec.io is forbidden: User "x" cannot list resource "sessions" in API group "audited-exec.io" at the cluster scope',
    );
    expect(forbiddenMessage('x', { verb: 'get', path: '/metrics' })).toBe(
      'forbidden: User "x" cannot get path "/metrics"',
    );
  });
});
