// How UI routes answer: HTML with the security headers, redirects, and errors that suit the client
// (a browser gets a page, an API client a Status).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorCode } from '../../common/error-codes.ts';
import { failureStatus } from '../../common/status.ts';
import { codedStatus, sendJson } from '../http/respond.ts';
import { html, type SafeHtml } from './html.ts';
import { layout } from './pages/layout.ts';
import { errorPage } from './pages/login.ts';
import { SECURITY_HEADERS } from './security.ts';

export function sendHtml(
  res: ServerResponse,
  code: number,
  page: SafeHtml,
  headers: Record<string, string | string[]> = {},
) {
  const body = Buffer.from(page.value, 'utf8');
  res.writeHead(code, {
    ...SECURITY_HEADERS,
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': String(body.length),
    // Pages show who did what on which pod: never cache them in shared or browser caches.
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(body);
}

export function redirect(
  res: ServerResponse,
  location: string,
  headers: Record<string, string | string[]> = {},
) {
  res.writeHead(303, {
    ...SECURITY_HEADERS,
    Location: location,
    'Cache-Control': 'no-store',
    'Content-Length': '0',
    ...headers,
  });
  res.end();
}

/** API clients say so with Accept: application/json; everything else is treated as a browser. */
export function wantsJson(req: IncomingMessage): boolean {
  const accept = req.headers.accept ?? '';
  return /application\/json/i.test(accept) && !/text\/html/i.test(accept);
}

export function sendProblem(
  req: IncomingMessage,
  res: ServerResponse,
  code: number,
  message: string,
  options: { user?: string; csrf?: string; refusal?: ErrorCode } = {},
): void {
  const { refusal, ...chrome } = options;
  if (wantsJson(req)) {
    // An API client gets the refusal's code as from the API (common/error-codes.ts).
    const status = refusal ? codedStatus(code, refusal, message) : failureStatus(code, message);
    sendJson(res, code, status, { ...SECURITY_HEADERS });
    return;
  }
  const title =
    code === 403 ? 'Not allowed' : code === 404 ? 'Not found' : code === 400 ? 'Bad request' : 'Error';
  sendHtml(res, code, layout({ title, ...chrome }, errorPage(title, message)));
}

/** Reads an application/x-www-form-urlencoded body (sign-in and sign-out forms). */
export async function readForm(req: IncomingMessage, limit = 16 * 1024): Promise<URLSearchParams | null> {
  if (!/^application\/x-www-form-urlencoded\b/i.test(req.headers['content-type'] ?? '')) return null;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) return null;
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/** A same-site path under /ui to return to after sign-in; anything else becomes the list. */
export function safeNext(value: string | null | undefined): string {
  if (!value || value.length > 2000) return '/ui/sessions';
  if (!/^\/ui(\/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*)?(\?[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*)?$/.test(value))
    return '/ui/sessions';
  if (
    value.startsWith('//') ||
    value.includes('/../') ||
    value.startsWith('/ui/login') ||
    value.startsWith('/ui/logout')
  ) {
    return '/ui/sessions';
  }
  return value;
}

export const EMPTY = html``;
