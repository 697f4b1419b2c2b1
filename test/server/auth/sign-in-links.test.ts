import { describe, expect, it } from 'vitest';
import { SIGN_IN_LINK_PATH, SignInLinks } from '../../../server/auth/sign-in-links.ts';

const code = (path: string) => path.slice(SIGN_IN_LINK_PATH.length);

describe('one-time sign-in links', () => {
  it('gives the token back once, never the token in the link', () => {
    const links = new SignInLinks();
    const path = links.issue('secret-token', '/ui/sessions/abc');
    expect(path.startsWith(SIGN_IN_LINK_PATH)).toBe(true);
    expect(path).not.toContain('secret-token');
    expect(links.take(code(path))).toEqual({ token: 'secret-token', next: '/ui/sessions/abc' });
    expect(links.take(code(path))).toBeUndefined();
  });

  it('expires and refuses unknown codes', () => {
    let now = 1_000;
    const links = new SignInLinks({ ttlMs: 60_000, now: () => now });
    const path = links.issue('t');
    expect(links.take('nope')).toBeUndefined();
    now += 60_000;
    expect(links.take(code(path))).toBeUndefined();
  });

  it('holds a bounded number of unused links', () => {
    const links = new SignInLinks();
    const first = links.issue('t0');
    for (let i = 1; i <= 100; i++) links.issue(`t${i}`);
    expect(links.take(code(first))).toBeUndefined();
  });
});
