// Response headers every UI answer carries, and the CSRF / Origin checks for state-changing requests.
import { timingSafeEqual } from 'node:crypto';

/**
 * No inline script anywhere (pages load /ui/static/*.js); 'wasm-unsafe-eval' is what the
 * asciinema-player needs to instantiate its terminal emulator (WebAssembly), it does not allow eval().
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  // same-origin, not no-referrer: with no-referrer Chromium sends `Origin: null` on our own form
  // POSTs, and the Origin check could not tell them from a cross-site post. Nothing leaks cross-site.
  'Referrer-Policy': 'same-origin',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Permissions-Policy': 'camera=(), microphone=(), geolocation=()',
  'Strict-Transport-Security': 'max-age=31536000',
};

/** Constant-time comparison of two tokens (different lengths are simply unequal). */
export function sameToken(a: string | undefined | null, b: string | undefined | null): boolean {
  if (!a || !b) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export interface OriginCheckInput {
  origin?: string | undefined;
  referer?: string | undefined;
  /** Sec-Fetch-Site, sent by every current browser */
  secFetchSite?: string | undefined;
  /** the origins this server answers as, e.g. https://recorder.example:8443 */
  allowed: readonly string[];
}

/**
 * A state-changing request must come from our own pages: Origin (or, when a privacy proxy strips
 * it, Referer) must be one of ours. Neither present → refused; a browser always sends one on POST.
 */
export function sameOrigin(input: OriginCheckInput): boolean {
  if (input.secFetchSite && input.secFetchSite !== 'same-origin') return false;
  let origin = input.origin && input.origin !== 'null' ? input.origin : undefined;
  if (!origin && input.referer) {
    try {
      origin = new URL(input.referer).origin;
    } catch {
      return false;
    }
  }
  if (!origin) return false;
  return input.allowed.includes(origin.toLowerCase());
}

/** The origin a request was addressed to, from its Host header (scheme decided by the listener). */
export function requestOrigin(host: string | undefined, secure: boolean): string | null {
  if (!host || !/^[A-Za-z0-9.\-:[\]]+$/.test(host)) return null;
  return `${secure ? 'https' : 'http'}://${host.toLowerCase()}`;
}
