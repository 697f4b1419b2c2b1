// The stand-in kube-apiserver: HTTPS with client-certificate and bearer-token authentication,
// impersonation, RBAC, audit log, then discovery / resources / reviews / exec+attach streams.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { WebSocketServer } from 'ws';
import { errorMessage } from '../../common/errors.ts';
import { failureStatus, type Status } from '../../common/status.ts';
import { type AuditLog, type AuditRequestInfo, buildAuditEvent } from './audit-log.ts';
import { apiGroup, apiGroupList, apiVersions, resourceList, versionInfo } from './discovery.ts';
import { chooseSubprotocol, parseStreamQuery, runStream } from './exec-stream.ts';
import { HttpError, readJson, sendJson, sendSocketStatus } from './http.ts';
import { Authenticator, type UserInfo } from './identity.ts';
import { parseImpersonation } from './impersonation.ts';
import { openapiV3CoreV1, openapiV3Root } from './openapi.ts';
import type { PodManager } from './pods.ts';
import { authorize, forbiddenMessage, type RbacPolicy } from './rbac.ts';
import { attributesOf, objectRefOf, type RequestInfo, requestInfo } from './request-info.ts';
import { handleResource, isStoreResource } from './resources.ts';
import { selfSubjectAccessReview, selfSubjectReview, subjectAccessReview, tokenReview } from './reviews.ts';
import type { ObjectStore } from './store.ts';
import { type TokenRequestBody, tokenRequest } from './token-request.ts';

export interface ApiServerOptions {
  tls: { cert: string; key: string; ca: string };
  authn: Authenticator;
  policy: () => RbacPolicy;
  audit: AuditLog;
  store: ObjectStore;
  pods: PodManager;
  host?: string;
}

interface Prepared {
  info: RequestInfo;
  url: URL;
  /** the identity the request acts as (the impersonated user when impersonating) */
  user: UserInfo;
  audit: AuditRequestInfo;
}

const ANONYMOUS: UserInfo = { username: 'system:anonymous', groups: ['system:unauthenticated'] };

export class ApiServer {
  readonly #o: ApiServerOptions;
  readonly #server: Server;
  readonly #wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (offered) => chooseSubprotocol(offered),
  });
  readonly #streams = new Set<Promise<void>>();
  readonly #upgradeAuditIds = new WeakMap<IncomingMessage, string>();
  url = '';

  constructor(opts: ApiServerOptions) {
    this.#o = opts;
    this.#server = createServer(
      {
        cert: opts.tls.cert,
        key: opts.tls.key,
        ca: opts.tls.ca,
        requestCert: true,
        rejectUnauthorized: false,
      },
      (req, res) => void this.#onRequest(req, res),
    );
    // ws writes the 101 itself: add the Audit-Id header the apiserver echoes on every answer.
    this.#wss.on('headers', (headers, req) => {
      const id = this.#upgradeAuditIds.get(req);
      if (id) headers.push(`Audit-Id: ${id}`);
    });
    this.#server.on(
      'upgrade',
      (req: IncomingMessage, socket: Duplex, head: Buffer) => void this.#onUpgrade(req, socket, head),
    );
  }

  async listen(port = 0): Promise<string> {
    const host = this.#o.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => resolve());
    });
    this.url = `https://${host}:${(this.#server.address() as AddressInfo).port}`;
    return this.url;
  }

  async close(): Promise<void> {
    for (const ws of this.#wss.clients) ws.terminate();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    await Promise.allSettled([...this.#streams]);
  }

  #audit(
    p: AuditRequestInfo,
    stage: 'ResponseStarted' | 'ResponseComplete',
    code: number,
    status?: Status,
  ): void {
    this.#o.audit.write(
      buildAuditEvent(
        p,
        stage,
        {
          code,
          ...(status?.message ? { message: status.message } : {}),
          ...(status?.reason ? { reason: status.reason } : {}),
        },
        Date.now(),
      ),
    );
  }

  /** Authentication, impersonation and authorisation: the apiserver's filter chain. */
  #prepare(
    req: IncomingMessage,
  ): Prepared | { error: HttpError; audit: AuditRequestInfo | null; auditID: string } {
    const receivedAt = Date.now();
    const auditID = (req.headers['audit-id'] as string | undefined)?.trim() || randomUUID();
    const url = new URL(req.url ?? '/', 'https://sandbox');
    const info = requestInfo(req.method ?? 'GET', url);
    const base = {
      auditID,
      requestURI: req.url ?? '/',
      verb: info.verb,
      sourceIP: req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '',
      ...(req.headers['user-agent'] ? { userAgent: req.headers['user-agent'] } : {}),
      ...(objectRefOf(info) ? { objectRef: objectRefOf(info)! } : {}),
      receivedAt,
    };
    const requester = this.#authenticate(req);
    if (!requester) {
      return { error: new HttpError(401, 'Unauthorized'), audit: { ...base, user: ANONYMOUS }, auditID };
    }
    const audit: AuditRequestInfo = { ...base, user: requester };
    const imp = parseImpersonation(req.headersDistinct as Record<string, string[]>);
    if (!imp.ok) return { error: new HttpError(400, imp.message), audit, auditID };
    let user = requester;
    if (imp.request) {
      for (const check of imp.request.checks) {
        if (!authorize(this.#o.policy(), requester, check)) {
          return { error: new HttpError(403, forbiddenMessage(requester.username, check)), audit, auditID };
        }
      }
      user = imp.request.user;
      audit.impersonatedUser = user;
    }
    const attrs = attributesOf(info);
    if (!authorize(this.#o.policy(), user, attrs)) {
      return { error: new HttpError(403, forbiddenMessage(user.username, attrs)), audit, auditID };
    }
    return { info, url, user, audit };
  }

  #authenticate(req: IncomingMessage): UserInfo | null {
    const auth = req.headers.authorization;
    if (auth?.startsWith('Bearer ')) {
      const r = this.#o.authn.authenticateToken(auth.slice(7).trim());
      return r.ok ? r.user : null;
    }
    const tls = req.socket as TLSSocket;
    if (tls.authorized) {
      const cert = tls.getPeerCertificate();
      if (cert && Object.keys(cert).length) return Authenticator.certificateUser(cert);
    }
    return null;
  }

  async #onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const p = this.#prepare(req);
    res.setHeader('Audit-Id', 'error' in p ? p.auditID : p.audit.auditID);
    if ('error' in p) {
      const status = p.error.toStatus();
      if (p.audit) this.#audit(p.audit, 'ResponseComplete', status.code!, status);
      sendJson(res, status.code!, status);
      return;
    }
    let code: number;
    let failure: Status | undefined;
    try {
      code = await this.#route(p, req, res);
    } catch (err) {
      failure = err instanceof HttpError ? err.toStatus() : failureStatus(500, errorMessage(err));
      code = failure.code!;
      if (!res.headersSent) sendJson(res, code, failure);
      else res.end();
    }
    if (p.info.verb === 'watch')
      res.on('close', () => this.#audit(p.audit, 'ResponseComplete', code, failure));
    else this.#audit(p.audit, 'ResponseComplete', code, failure);
  }

  async #route(p: Prepared, req: IncomingMessage, res: ServerResponse): Promise<number> {
    const { info } = p;
    const path = p.url.pathname.replace(/\/$/, '') || '/';
    if (!info.isResource) {
      if (path === '/version') return sendJson(res, 200, versionInfo());
      if (path === '/api') return sendJson(res, 200, apiVersions(this.url.replace(/^https:\/\//, '')));
      if (path === '/apis') return sendJson(res, 200, apiGroupList());
      if (path === '/api/v1') return sendJson(res, 200, resourceList('v1'));
      if (path === '/openapi/v3') return sendJson(res, 200, openapiV3Root());
      if (path === '/openapi/v3/api/v1') return sendJson(res, 200, openapiV3CoreV1());
      if (path === '/healthz' || path === '/readyz' || path === '/livez') {
        res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
        return 200;
      }
      const g = /^\/apis\/([^/]+)(?:\/(v1))?$/.exec(path);
      if (g) {
        const body = g[2] ? resourceList(`${g[1]}/v1`) : apiGroup(g[1]!);
        if (body) return sendJson(res, 200, body);
      }
      throw new HttpError(404, 'the server could not find the requested resource');
    }
    if (info.resource === 'serviceaccounts' && info.subresource === 'token' && info.verb === 'create') {
      const body = (await readJson(req)) as TokenRequestBody;
      const nodeOfPod = (ns: string, pod: string) => {
        const found = this.#o.store.get('pods', ns, pod) as { spec?: { nodeName?: string } } | undefined;
        return found ? (found.spec?.nodeName ?? '') : undefined;
      };
      return sendJson(
        res,
        201,
        tokenRequest(this.#o.authn, { namespace: info.namespace, name: info.name, body, nodeOfPod }),
      );
    }
    if (isStoreResource(info)) {
      if (info.resource === 'pods' && (info.subresource === 'exec' || info.subresource === 'attach')) {
        // A plain request (no upgrade) to a streaming subresource: the apiserver's answer.
        throw new HttpError(400, 'Upgrade request required');
      }
      return handleResource(this.#o, info, p.url, req, res);
    }
    const review = `${info.apiGroup}/${info.resource}`;
    if (info.verb === 'create' && !info.namespace) {
      const policy = this.#o.policy();
      // SelfSubjectReview has no spec (and kubectl sends it as protobuf): don't read it.
      const body = (review.endsWith('/selfsubjectreviews') ? {} : await readJson(req)) as Record<
        string,
        never
      >;
      let out: object | null = null;
      if (review === 'authentication.k8s.io/tokenreviews') out = tokenReview(this.#o.authn, body);
      else if (review === 'authentication.k8s.io/selfsubjectreviews') out = selfSubjectReview(p.user);
      else if (review === 'authorization.k8s.io/subjectaccessreviews')
        out = subjectAccessReview(body, policy);
      else if (review === 'authorization.k8s.io/selfsubjectaccessreviews')
        out = selfSubjectAccessReview(body, p.user, policy);
      else throw new HttpError(404, 'the server could not find the requested resource');
      if (!out)
        throw new HttpError(
          422,
          'at least one of resourceAttributes or nonResourceAttributes must be specified',
        );
      return sendJson(res, 201, out);
    }
    throw new HttpError(404, 'the server could not find the requested resource');
  }

  async #onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    const p = this.#prepare(req);
    const auditID = 'error' in p ? p.auditID : p.audit.auditID;
    const fail = (audit: AuditRequestInfo | null, err: HttpError): void => {
      const status = err.toStatus();
      if (audit) this.#audit(audit, 'ResponseComplete', status.code!, status);
      sendSocketStatus(socket, status, { 'Audit-Id': auditID });
    };
    if ('error' in p) return fail(p.audit, p.error);
    const { info } = p;
    const streaming =
      info.resource === 'pods' && (info.subresource === 'exec' || info.subresource === 'attach');
    if (!streaming)
      return fail(
        p.audit,
        new HttpError(400, 'the sandbox apiserver upgrades only pods/exec and pods/attach'),
      );
    if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
      // kubectl falls back to SPDY after a failed WebSocket upgrade; we speak WebSocket only.
      return fail(
        p.audit,
        new HttpError(
          400,
          'the sandbox apiserver supports only WebSocket (v5.channel.k8s.io) streams, not SPDY',
        ),
      );
    }
    const pod = this.#o.store.get('pods', info.namespace, info.name);
    if (!pod) return fail(p.audit, new HttpError(404, `pods "${info.name}" not found`));
    const opts = parseStreamQuery(p.url);
    const container = this.#o.pods.container(info.namespace, info.name, opts.container || undefined);
    if (!container) {
      return fail(
        p.audit,
        new HttpError(400, `container ${opts.container || '(default)'} is not valid for pod ${info.name}`),
      );
    }
    if (info.subresource === 'exec' && !opts.command.length) {
      return fail(p.audit, new HttpError(400, 'you must specify at least 1 command'));
    }
    this.#upgradeAuditIds.set(req, auditID);
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      this.#audit(p.audit, 'ResponseStarted', 101);
      const start =
        info.subresource === 'exec'
          ? () => container.exec({ command: opts.command, tty: opts.tty, stdin: opts.stdin })
          : async () => container.main;
      const session = runStream(ws, opts, start, info.subresource === 'exec');
      const done = session.done.then(() => this.#audit(p.audit, 'ResponseComplete', 101));
      this.#streams.add(done);
      void done.finally(() => this.#streams.delete(done));
    });
  }
}
