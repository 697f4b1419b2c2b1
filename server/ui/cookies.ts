// Cookie parsing and serialisation (RFC 6265 subset). Pure.

export interface CookieOptions {
  /** seconds; omitted → session cookie; 0 → delete */
  maxAge?: number;
  path?: string;
  httpOnly?: boolean;
  secure?: boolean;
  sameSite?: 'Strict' | 'Lax';
}

const NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const VALUE = /^[!#$%&'()*+\-./0-9:<=>?@A-Z[\]^_`a-z{|}~]*$/;

export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!header) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    // First occurrence wins: a more specific path is sent first by browsers.
    if (NAME.test(name) && !out.has(name)) out.set(name, value);
  }
  return out;
}

/** Defaults are the strict ones: HttpOnly, Secure, SameSite=Strict, Path=/. */
export function serializeCookie(name: string, value: string, options: CookieOptions = {}): string {
  const o = { path: '/', httpOnly: true, secure: true, sameSite: 'Strict' as const, ...options };
  if (!NAME.test(name)) throw new TypeError(`invalid cookie name ${name}`);
  if (!VALUE.test(value)) throw new TypeError('invalid cookie value');
  const parts = [`${name}=${value}`, `Path=${o.path}`];
  if (o.maxAge !== undefined) {
    parts.push(`Max-Age=${Math.max(0, Math.floor(o.maxAge))}`);
  }
  if (o.httpOnly) parts.push('HttpOnly');
  if (o.secure) parts.push('Secure');
  parts.push(`SameSite=${o.sameSite}`);
  return parts.join('; ');
}
