import { describe, expect, it } from 'vitest';
import type { AuditedExecError } from '../../../common/errors.ts';
import { claimMapping, userFromClaims } from '../../../server/auth/oidc/claims.ts';

const issuerUrl = 'https://idp.example.com';

describe('OIDC claim mapping, as the kube-apiserver maps', () => {
  it('prefixes a username claim other than email with the issuer URL and #, by default', () => {
    const m = claimMapping({ issuerUrl, usernameClaim: 'sub' });
    expect(userFromClaims({ sub: '1234' }, m).username).toBe('https://idp.example.com#1234');
    const preferred = claimMapping({ issuerUrl, usernameClaim: 'preferred_username' });
    expect(userFromClaims({ preferred_username: 'jane' }, preferred).username).toBe(
      'https://idp.example.com#jane',
    );
  });

  it('does not prefix email by default; "-" turns prefixing off; a given prefix is used as is', () => {
    expect(
      userFromClaims({ email: 'j@x.io' }, claimMapping({ issuerUrl, usernameClaim: 'email' })).username,
    ).toBe('j@x.io');
    expect(
      userFromClaims({ sub: '1234' }, claimMapping({ issuerUrl, usernameClaim: 'sub', usernamePrefix: '-' }))
        .username,
    ).toBe('1234');
    expect(
      userFromClaims(
        { email: 'j@x.io' },
        claimMapping({ issuerUrl, usernameClaim: 'email', usernamePrefix: 'oidc:' }),
      ).username,
    ).toBe('oidc:j@x.io');
  });

  it('reads groups from a list or a single string, prefixed, plus system:authenticated', () => {
    const m = claimMapping({
      issuerUrl,
      usernameClaim: 'email',
      groupsClaim: 'groups',
      groupsPrefix: 'oidc:',
    });
    expect(userFromClaims({ email: 'j@x.io', groups: ['a', 'b'] }, m)).toEqual({
      username: 'j@x.io',
      groups: ['oidc:a', 'oidc:b', 'system:authenticated'],
      method: 'oidc',
    });
    expect(userFromClaims({ email: 'j@x.io', groups: 'a' }, m).groups).toEqual([
      'oidc:a',
      'system:authenticated',
    ]);
    expect(userFromClaims({ email: 'j@x.io' }, m).groups).toEqual(['system:authenticated']);
    // No groups claim configured: groups in the token are not read (the apiserver would not either).
    const none = claimMapping({ issuerUrl, usernameClaim: 'email' });
    expect(userFromClaims({ email: 'j@x.io', groups: ['a'] }, none).groups).toEqual(['system:authenticated']);
    // No prefix given: none.
    const bare = claimMapping({ issuerUrl, usernameClaim: 'email', groupsClaim: 'groups' });
    expect(userFromClaims({ email: 'j@x.io', groups: ['a'] }, bare).groups).toEqual([
      'a',
      'system:authenticated',
    ]);
  });

  it('refuses a missing or non-string username, an unverified email, and groups that are not strings', () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        return (err as AuditedExecError).code;
      }
      return 'accepted';
    };
    const m = claimMapping({ issuerUrl, usernameClaim: 'email', groupsClaim: 'groups' });
    expect(code(() => userFromClaims({ sub: 'x' }, m))).toBe('OIDC_CLAIMS_INVALID');
    expect(code(() => userFromClaims({ email: 42 }, m))).toBe('OIDC_CLAIMS_INVALID');
    expect(code(() => userFromClaims({ email: '' }, m))).toBe('OIDC_CLAIMS_INVALID');
    expect(code(() => userFromClaims({ email: 'j@x.io', email_verified: false }, m))).toBe(
      'OIDC_CLAIMS_INVALID',
    );
    expect(code(() => userFromClaims({ email: 'j@x.io', email_verified: 'true' }, m))).toBe(
      'OIDC_CLAIMS_INVALID',
    );
    expect(code(() => userFromClaims({ email: 'j@x.io', email_verified: true }, m))).toBe('accepted');
    expect(code(() => userFromClaims({ email: 'j@x.io', groups: [1] }, m))).toBe('OIDC_CLAIMS_INVALID');
    // email_verified only matters when the username is the email.
    const sub = claimMapping({ issuerUrl, usernameClaim: 'sub' });
    expect(code(() => userFromClaims({ sub: 'x', email_verified: false }, sub))).toBe('accepted');
  });
});
