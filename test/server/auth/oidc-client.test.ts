import { describe, expect, it } from 'vitest';
import { claimMapping } from '../../../server/auth/oidc/claims.ts';
import { OidcClient } from '../../../server/auth/oidc/client.ts';
import { freePort } from '../../support/ports.ts';

describe('OIDC client when the provider does not answer', () => {
  it('refuses sign-in with OIDC_UNAVAILABLE, signs out here only, and tries again next time', async () => {
    const issuerUrl = `https://127.0.0.1:${await freePort()}`;
    const client = new OidcClient({
      issuerUrl,
      clientId: 'ae',
      redirectUri: 'https://rec.example/ui/oidc/callback',
      postLogoutRedirectUri: 'https://rec.example/ui/login',
      scopes: ['openid'],
      mapping: claimMapping({ issuerUrl, usernameClaim: 'sub' }),
    });
    for (let i = 0; i < 2; i += 1) {
      await expect(client.begin()).rejects.toMatchObject({
        code: 'OIDC_UNAVAILABLE',
        message: expect.stringContaining(issuerUrl),
      });
    }
    expect(await client.signOutUrl('an.id.token')).toBeNull();
  });
});
