import { describe, expect, it } from 'vitest';
import { parseCookies, serializeCookie } from '../../server/ui/cookies.ts';

describe('cookies', () => {
  it('session cookies are HttpOnly, Secure, SameSite=Strict, Path=/ with an expiry', () => {
    const c = serializeCookie('__Host-ae_session', 'abc_-123', { maxAge: 28_800 });
    expect(c).toBe('__Host-ae_session=abc_-123; Path=/; Max-Age=28800; HttpOnly; Secure; SameSite=Strict');
  });

  it('deleting sets Max-Age=0 and keeps the flags', () => {
    expect(serializeCookie('x', '', { maxAge: 0 })).toBe(
      'x=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict',
    );
  });

  it('refuses values that would inject attributes', () => {
    expect(() => serializeCookie('x', 'a; Domain=evil.example')).toThrow(TypeError);
    expect(() => serializeCookie('x y', 'a')).toThrow(TypeError);
  });

  it('parses a Cookie header, first occurrence wins, junk ignored', () => {
    const m = parseCookies('a=1; b="two"; a=3; =x; junk; c=');
    expect(m.get('a')).toBe('1');
    expect(m.get('b')).toBe('two');
    expect(m.get('c')).toBe('');
    expect(m.size).toBe(3);
    expect(parseCookies(undefined).size).toBe(0);
  });
});
