import { describe, expect, it } from 'vitest';
import { safeNext } from '../../server/ui/respond.ts';
import {
  CONTENT_SECURITY_POLICY,
  requestOrigin,
  SECURITY_HEADERS,
  sameOrigin,
  sameToken,
} from '../../server/ui/security.ts';

describe('CSRF and origin checks', () => {
  const allowed = ['https://recorder.example:8443'];

  it('accepts a same-origin POST', () => {
    expect(
      sameOrigin({ origin: 'https://recorder.example:8443', secFetchSite: 'same-origin', allowed }),
    ).toBe(true);
  });

  it('rejects cross-site, missing and "null" origins', () => {
    expect(sameOrigin({ origin: 'https://evil.example', allowed })).toBe(false);
    expect(sameOrigin({ origin: 'https://recorder.example:8443', secFetchSite: 'cross-site', allowed })).toBe(
      false,
    );
    expect(sameOrigin({ allowed })).toBe(false);
    expect(sameOrigin({ origin: 'null', allowed })).toBe(false);
    expect(sameOrigin({ origin: 'http://recorder.example:8443', allowed })).toBe(false);
  });

  it('falls back to Referer when Origin is absent', () => {
    expect(sameOrigin({ referer: 'https://recorder.example:8443/ui/login', allowed })).toBe(true);
    expect(sameOrigin({ referer: 'https://recorder.example.evil.example/ui/login', allowed })).toBe(false);
    expect(sameOrigin({ referer: 'not a url', allowed })).toBe(false);
  });

  it('compares tokens exactly and refuses empty ones', () => {
    expect(sameToken('abc', 'abc')).toBe(true);
    expect(sameToken('abc', 'abd')).toBe(false);
    expect(sameToken('abc', 'abcd')).toBe(false);
    expect(sameToken('', '')).toBe(false);
    expect(sameToken(undefined, 'x')).toBe(false);
  });

  it('derives the request origin from a sane Host only', () => {
    expect(requestOrigin('Recorder.example:8443', true)).toBe('https://recorder.example:8443');
    expect(requestOrigin('evil.example/x', true)).toBeNull();
    expect(requestOrigin(undefined, true)).toBeNull();
  });

  it('sends a CSP without inline script and forbids framing', () => {
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self' 'wasm-unsafe-eval'");
    expect(CONTENT_SECURITY_POLICY).not.toContain('unsafe-inline');
    expect(CONTENT_SECURITY_POLICY).toContain("frame-ancestors 'none'");
    expect(SECURITY_HEADERS['X-Content-Type-Options']).toBe('nosniff');
    expect(SECURITY_HEADERS['Referrer-Policy']).toBe('same-origin');
  });

  it('only returns to same-site /ui paths after sign-in', () => {
    expect(safeNext('/ui/sessions/abc?x=1')).toBe('/ui/sessions/abc?x=1');
    expect(safeNext('//evil.example/ui')).toBe('/ui/sessions');
    expect(safeNext('https://evil.example/')).toBe('/ui/sessions');
    expect(safeNext('/ui\\evil')).toBe('/ui/sessions');
    expect(safeNext('/ui/login')).toBe('/ui/sessions');
    expect(safeNext(null)).toBe('/ui/sessions');
  });
});
