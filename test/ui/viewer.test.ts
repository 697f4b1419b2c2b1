import { describe, expect, it } from 'vitest';
import { TRUSTED_PROXY_DEFAULTS, userFromProxyHeaders, verifiedProxy } from '../../server/ui/viewer.ts';

const proxy = { ...TRUSTED_PROXY_DEFAULTS, allowedNames: ['front-proxy'] };
const socket = (authorized: boolean, cn: string) => ({
  authorized,
  getPeerCertificate: () => ({ subject: { CN: cn } }),
});

describe('trusted proxy headers', () => {
  it('are believed only from a verified certificate with an allowed CN', () => {
    expect(verifiedProxy(socket(true, 'front-proxy'), proxy)).toBe('front-proxy');
    expect(verifiedProxy(socket(false, 'front-proxy'), proxy)).toBeNull();
    expect(verifiedProxy(socket(true, 'alice'), proxy)).toBeNull();
    expect(verifiedProxy({ remoteAddress: '10.0.0.1' }, proxy)).toBeNull();
    expect(verifiedProxy(socket(true, 'front-proxy'), undefined)).toBeNull();
    expect(verifiedProxy(socket(true, 'front-proxy'), { ...proxy, allowedNames: [] })).toBeNull();
  });

  it('read the user and groups (repeated or comma-separated)', () => {
    const u = userFromProxyHeaders(
      { 'x-remote-user': 'dana', 'x-remote-group': 'auditors, sre' },
      TRUSTED_PROXY_DEFAULTS,
    );
    expect(u).toEqual({
      username: 'dana',
      groups: ['auditors', 'sre', 'system:authenticated'],
      method: 'certificate',
    });
    expect(userFromProxyHeaders({}, TRUSTED_PROXY_DEFAULTS)).toBeNull();
  });
});
