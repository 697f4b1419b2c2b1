// A small router other modules register routes on (sessions, UI, evidence, shim, metrics).
// Authentication is one shared step before the handler: routes are authenticated unless they
// say `auth: false`, and handlers receive the resolved user.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { AuditedExecError } from '../../common/errors.ts';
import type { Authenticator } from '../auth/authenticator.ts';
import type { UserInfo } from '../auth/user.ts';
import { codedStatus, refuseUpgrade, sendStatus, statusFor } from './respond.ts';

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  params: Record<string, string>;
  /** Always set on authenticated routes; null only where `auth: false`. */
  user: UserInfo | null;
}

export interface UpgradeContext {
  req: IncomingMessage;
  socket: Duplex;
  head: Buffer;
  url: URL;
  params: Record<string, string>;
  user: UserInfo | null;
}

export type Handler = (ctx: RequestContext) => unknown;
/** Runs after authentication, before the handler; throws (an error with a code, common/error-codes.ts) to refuse the request. */
export type Guard = (ctx: {
  req: IncomingMessage;
  url: URL;
  params: Record<string, string>;
  user: UserInfo | null;
}) => unknown;
export type UpgradeHandler = (ctx: UpgradeContext) => unknown;
/** Answers a request in place of this process (another replica does), or returns false to let
 *  the routes answer. Runs before authentication: whoever answers authenticates. */
export type Forwarder = (ctx: {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  params: Record<string, string>;
}) => Promise<boolean>;

export interface RouteOptions {
  /** Default true: unauthenticated requests get 401 before the handler runs. */
  auth?: boolean;
}

interface Route<H> {
  method: string;
  segments: string[];
  handler: H;
  auth: boolean;
}

export interface RouterOptions {
  authenticator: Authenticator;
  /** Called with errors that became a 500, so they reach the log. */
  onError?: (err: unknown, req: IncomingMessage) => void;
}

/**
 * Patterns are paths whose segments may be `:name` (one segment) or a final `*` (the rest,
 * as params['*']). The first matching route wins, in registration order.
 */
export class Router {
  readonly #routes: Route<Handler>[] = [];
  readonly #upgrades: Route<UpgradeHandler>[] = [];
  readonly #guards: Route<Guard>[] = [];
  readonly #forwarders: Route<Forwarder>[] = [];
  readonly #o: RouterOptions;

  constructor(options: RouterOptions) {
    this.#o = options;
  }

  route(method: string, pattern: string, handler: Handler, options: RouteOptions = {}): this {
    this.#routes.push({
      method: method.toUpperCase(),
      segments: split(pattern),
      handler,
      auth: options.auth ?? true,
    });
    return this;
  }

  get(pattern: string, handler: Handler, options?: RouteOptions): this {
    return this.route('GET', pattern, handler, options);
  }

  post(pattern: string, handler: Handler, options?: RouteOptions): this {
    return this.route('POST', pattern, handler, options);
  }

  /**
   * A precondition for matching requests and upgrades (e.g. "the disk has room"), kept apart from
   * the handlers so the module that knows the condition need not own the route.
   */
  guard(method: string, pattern: string, check: Guard): this {
    this.#guards.push({ method: method.toUpperCase(), segments: split(pattern), handler: check, auth: true });
    return this;
  }

  /**
   * Requests another process may have to answer (a session recorded by another replica): the
   * forwarder sees them first and either answers them or lets the routes do.
   */
  forward(method: string, pattern: string, forwarder: Forwarder): this {
    this.#forwarders.push({
      method: method.toUpperCase(),
      segments: split(pattern),
      handler: forwarder,
      auth: false,
    });
    return this;
  }

  async #forwarded(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    if (this.#forwarders.length === 0) return false;
    const found = find(this.#forwarders, req.method ?? 'GET', url.pathname);
    if (!found || found === 'method') return false;
    return found.route.handler({ req, res, url, params: found.params });
  }

  async #checkGuards(ctx: Parameters<Guard>[0], method: string): Promise<void> {
    const parts = split(ctx.url.pathname);
    for (const g of this.#guards) {
      if (g.method === method && match(g.segments, parts)) await g.handler(ctx);
    }
  }

  /** A WebSocket (or other Upgrade) GET. */
  upgrade(pattern: string, handler: UpgradeHandler, options: RouteOptions = {}): this {
    this.#upgrades.push({ method: 'GET', segments: split(pattern), handler, auth: options.auth ?? true });
    return this;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://recorder.invalid');
    try {
      tooLong(url);
      if (await this.#forwarded(req, res, url)) return;
      const found = find(this.#routes, req.method ?? 'GET', url.pathname);
      if (found === 'method')
        return sendStatus(
          res,
          codedStatus(405, 'HTTP_METHOD', `${req.method} is not allowed on ${url.pathname}`),
        );
      if (!found)
        return sendStatus(res, codedStatus(404, 'HTTP_NO_ROUTE', `no such endpoint: ${url.pathname}`));
      const user = found.route.auth ? await this.#authenticate(req) : null;
      if (found.route.auth && !user) return sendStatus(res, unauthorized());
      await this.#checkGuards({ req, url, params: found.params, user }, found.route.method);
      await found.route.handler({ req, res, url, params: found.params, user });
    } catch (err) {
      const status = statusFor(err);
      if (status.code === 500) this.#o.onError?.(err, req);
      sendStatus(res, status);
    }
  }

  async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://recorder.invalid');
    try {
      tooLong(url);
      const found = find(this.#upgrades, req.method ?? 'GET', url.pathname);
      if (!found || found === 'method')
        return refuseUpgrade(socket, codedStatus(404, 'HTTP_NO_ROUTE', `no such stream: ${url.pathname}`));
      const user = found.route.auth ? await this.#authenticate(req) : null;
      if (found.route.auth && !user) return refuseUpgrade(socket, unauthorized());
      await this.#checkGuards({ req, url, params: found.params, user }, 'GET');
      await found.route.handler({ req, socket, head, url, params: found.params, user });
    } catch (err) {
      const status = statusFor(err);
      if (status.code === 500) this.#o.onError?.(err, req);
      refuseUpgrade(socket, status);
    }
  }

  #authenticate(req: IncomingMessage): Promise<UserInfo | null> {
    return this.#o.authenticator.authenticate(req);
  }
}

/** No endpoint reads a query near this size; a longer one is refused before any handler parses it. */
export const MAX_QUERY_BYTES = 8 * 1024;

function tooLong(url: URL): void {
  if (url.search.length > MAX_QUERY_BYTES) {
    throw new AuditedExecError(
      'HTTP_URI_TOO_LONG',
      `the query string is longer than ${MAX_QUERY_BYTES} bytes`,
    );
  }
}

function unauthorized() {
  return codedStatus(
    401,
    'UNAUTHENTICATED',
    'authentication required: send a bearer token the cluster accepts, or a client certificate it signed',
  );
}

function split(path: string): string[] {
  return path.split('/').filter(Boolean);
}

function find<H>(
  routes: Route<H>[],
  method: string,
  pathname: string,
): { route: Route<H>; params: Record<string, string> } | 'method' | null {
  const parts = split(pathname);
  let methodMismatch = false;
  for (const route of routes) {
    const params = match(route.segments, parts);
    if (!params) continue;
    if (route.method === method || (method === 'HEAD' && route.method === 'GET')) return { route, params };
    methodMismatch = true;
  }
  return methodMismatch ? 'method' : null;
}

function match(segments: string[], parts: string[]): Record<string, string> | null {
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    if (seg === '*' && i === segments.length - 1) {
      params['*'] = parts.slice(i).join('/');
      return params;
    }
    const part = parts[i];
    if (part === undefined) return null;
    if (seg.startsWith(':')) {
      try {
        params[seg.slice(1)] = decodeURIComponent(part);
      } catch {
        return null;
      }
    } else if (seg !== part) return null;
  }
  return parts.length === segments.length ? params : null;
}
