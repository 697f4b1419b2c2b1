// REST handlers for the store-backed resources: pods, configmaps, namespaces, nodes. get, list
// (label/field selectors, Table for kubectl), watch (chunked JSON events), create, delete.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AuditedExecError } from '../../common/errors.ts';
import { toTable } from './discovery.ts';
import { HttpError, notFound, readJson, sendJson } from './http.ts';
import type { PodManager, PodObject } from './pods.ts';
import type { RequestInfo } from './request-info.ts';
import { fieldsMatch, labelsMatch, parseSelector } from './selectors.ts';
import type { KubeObject, ObjectStore, WatchEvent } from './store.ts';

export interface ResourceDeps {
  store: ObjectStore;
  pods: PodManager;
}

const KINDS: Record<string, { kind: string; namespaced: boolean; writable: boolean }> = {
  pods: { kind: 'Pod', namespaced: true, writable: true },
  configmaps: { kind: 'ConfigMap', namespaced: true, writable: true },
  namespaces: { kind: 'Namespace', namespaced: false, writable: false },
  nodes: { kind: 'Node', namespaced: false, writable: false },
};

export function isStoreResource(info: RequestInfo): boolean {
  return info.isResource && info.apiGroup === '' && info.apiVersion === 'v1' && info.resource in KINDS;
}

function wantsTable(req: IncomingMessage): boolean {
  return /as=Table/.test(req.headers.accept ?? '');
}

export async function handleResource(
  deps: ResourceDeps,
  info: RequestInfo,
  url: URL,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<number> {
  const meta = KINDS[info.resource]!;
  const ns = meta.namespaced ? info.namespace || undefined : undefined;
  if (info.resource === 'pods' && info.subresource === 'log' && info.verb === 'get') {
    const log = deps.pods.logs(ns!, info.name, url.searchParams.get('container') ?? undefined);
    if (!log) throw notFound(info.resource, info.name);
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': log.length }).end(log);
    return 200;
  }
  if (info.subresource && !(info.resource === 'pods' && info.subresource === 'status')) {
    throw new HttpError(404, `the server could not find the requested resource`);
  }
  switch (info.verb) {
    case 'get': {
      const obj = deps.store.get(info.resource, ns, info.name);
      if (!obj) throw notFound(info.resource, info.name);
      return sendJson(res, 200, wantsTable(req) ? toTable(info.resource, [obj]) : obj);
    }
    case 'list': {
      const items = select(deps.store.list(info.resource, ns), url);
      if (wantsTable(req)) {
        const table = toTable(info.resource, items) as { metadata: Record<string, string> };
        table.metadata.resourceVersion = deps.store.resourceVersion;
        return sendJson(res, 200, table);
      }
      return sendJson(res, 200, {
        kind: `${meta.kind}List`,
        apiVersion: 'v1',
        metadata: { resourceVersion: deps.store.resourceVersion },
        items: items.map((o) => ({ ...o, apiVersion: undefined, kind: undefined })),
      });
    }
    case 'watch':
      return watch(deps.store, info.resource, ns, url, req, res);
    case 'create': {
      if (!meta.writable) throw new HttpError(405, `the sandbox does not support creating ${info.resource}`);
      const body = (await readJson(req)) as KubeObject;
      if (typeof body !== 'object' || body === null)
        throw new HttpError(400, 'the request body must be an object');
      if (body.metadata?.namespace && body.metadata.namespace !== ns) {
        throw new HttpError(
          400,
          'the namespace of the provided object does not match the namespace sent on the request',
        );
      }
      if (!deps.store.get('namespaces', undefined, ns ?? '')) throw notFound('namespaces', ns ?? '');
      if (info.resource === 'pods') {
        try {
          const { pod, started } = deps.pods.create(ns!, body as PodObject);
          started.catch(() => {});
          return sendJson(res, 201, pod);
        } catch (err) {
          if (err instanceof AuditedExecError && err.code === 'SANDBOX_EXISTS')
            throw new HttpError(409, err.message);
          if (err instanceof AuditedExecError && err.code === 'SANDBOX_INVALID')
            throw new HttpError(422, err.message);
          throw err;
        }
      }
      if (!body.metadata?.name)
        throw new HttpError(422, `${meta.kind} "" is invalid: metadata.name: Required value`);
      if (deps.store.get(info.resource, ns, body.metadata.name)) {
        throw new HttpError(409, `${info.resource} "${body.metadata.name}" already exists`, {
          reason: 'AlreadyExists',
        });
      }
      const stored = deps.store.put(info.resource, {
        ...body,
        apiVersion: 'v1',
        kind: meta.kind,
        metadata: { ...body.metadata, namespace: ns },
      });
      return sendJson(res, 201, stored);
    }
    case 'update': {
      // PUT replaces the object; a stale metadata.resourceVersion is a 409 Conflict, as the apiserver's
      // optimistic concurrency answers (pods are not updated through here).
      if (!meta.writable || info.resource === 'pods')
        throw new HttpError(405, `the sandbox does not support updating ${info.resource}`);
      const body = (await readJson(req)) as KubeObject;
      if (typeof body !== 'object' || body === null || body.metadata?.name !== info.name)
        throw new HttpError(400, 'the body must be the object named in the path');
      const cur = deps.store.get(info.resource, ns, info.name);
      if (!cur) throw notFound(info.resource, info.name);
      const rv = body.metadata.resourceVersion;
      if (rv && rv !== cur.metadata.resourceVersion) {
        throw new HttpError(
          409,
          `Operation cannot be fulfilled on ${info.resource} "${info.name}": the object has been modified; please apply your changes to the latest version and try again`,
          { reason: 'Conflict' },
        );
      }
      const stored = deps.store.put(info.resource, {
        ...body,
        apiVersion: 'v1',
        kind: meta.kind,
        metadata: {
          ...body.metadata,
          namespace: ns,
          uid: cur.metadata.uid,
          creationTimestamp: cur.metadata.creationTimestamp,
        },
      });
      return sendJson(res, 200, stored);
    }
    case 'delete': {
      if (!meta.writable) throw new HttpError(405, `the sandbox does not support deleting ${info.resource}`);
      const obj =
        info.resource === 'pods'
          ? await deps.pods.delete(ns!, info.name)
          : deps.store.delete(info.resource, ns, info.name);
      if (!obj) throw notFound(info.resource, info.name);
      return sendJson(res, 200, obj);
    }
    default:
      throw new HttpError(405, `the sandbox does not support ${info.verb} on ${info.resource}`);
  }
}

function select(items: KubeObject[], url: URL): KubeObject[] {
  const labels = parseSelector(url.searchParams.get('labelSelector'));
  const fields = parseSelector(url.searchParams.get('fieldSelector'));
  return items.filter((o) => labelsMatch(labels, o.metadata.labels) && fieldsMatch(fields, o));
}

function watch(
  store: ObjectStore,
  resource: string,
  ns: string | undefined,
  url: URL,
  req: IncomingMessage,
  res: ServerResponse,
): number {
  const rvParam = url.searchParams.get('resourceVersion');
  const labels = parseSelector(url.searchParams.get('labelSelector'));
  const fields = parseSelector(url.searchParams.get('fieldSelector'));
  const accept = (ev: WatchEvent): boolean =>
    ev.resource === resource &&
    (ns === undefined || ev.object.metadata.namespace === ns) &&
    labelsMatch(labels, ev.object.metadata.labels) &&
    fieldsMatch(fields, ev.object);
  res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
  res.flushHeaders(); // clients wait for the headers before they look at their lists
  const send = (type: string, object: KubeObject): void => {
    res.write(`${JSON.stringify({ type, object })}\n`);
  };
  let since: number;
  if (!rvParam || rvParam === '0') {
    // No resourceVersion: synthetic ADDED for everything that exists now, then changes.
    since = Number(store.resourceVersion);
    for (const o of select(store.list(resource, ns), url)) send('ADDED', o);
  } else {
    since = Number(rvParam);
  }
  const stop = store.watch(since, (ev) => {
    if (accept(ev)) send(ev.type, ev.object);
  });
  if (!stop) {
    send('ERROR', {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: { name: '' },
      status: 'Failure',
      message: `too old resource version: ${rvParam} (${store.resourceVersion})`,
      reason: 'Expired',
      code: 410,
    } as unknown as KubeObject);
    res.end();
    return 200;
  }
  const timeout = Number(url.searchParams.get('timeoutSeconds') ?? '1800');
  const timer = setTimeout(() => res.end(), Math.max(1, timeout) * 1000);
  const close = (): void => {
    clearTimeout(timer);
    stop();
  };
  req.on('close', close);
  res.on('close', close);
  return 200;
}
