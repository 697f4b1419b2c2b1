// The apiserver's RequestInfo: what a URL and method mean for authorisation and audit. Pure.
import type { AuditObjectRef } from './audit-log.ts';
import type { RequestAttributes } from './rbac.ts';

export interface RequestInfo {
  isResource: boolean;
  verb: string;
  path: string;
  apiGroup: string;
  apiVersion: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
}

const VERBS: Record<string, string> = {
  GET: 'get',
  HEAD: 'get',
  POST: 'create',
  PUT: 'update',
  PATCH: 'patch',
  DELETE: 'delete',
};

export function requestInfo(method: string, url: URL): RequestInfo {
  const path = url.pathname;
  const info: RequestInfo = {
    isResource: false,
    verb: VERBS[method] ?? method.toLowerCase(),
    path,
    apiGroup: '',
    apiVersion: '',
    resource: '',
    subresource: '',
    namespace: '',
    name: '',
  };
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 3) {
    info.apiVersion = parts[1]!;
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    info.apiGroup = parts[1]!;
    info.apiVersion = parts[2]!;
    rest = parts.slice(3);
  } else {
    return info;
  }
  info.isResource = true;
  if (rest[0] === 'namespaces' && rest.length >= 2) {
    info.namespace = rest[1]!;
    rest = rest.length === 2 ? ['namespaces', rest[1]!] : rest.slice(2);
    if (rest[0] === 'namespaces') info.namespace = rest[1]!;
  }
  info.resource = rest[0] ?? '';
  info.name = rest[1] ?? '';
  info.subresource = rest[2] ?? '';
  const watch = url.searchParams.get('watch');
  if (!info.name && info.verb === 'get') info.verb = watch === '1' || watch === 'true' ? 'watch' : 'list';
  if (!info.name && info.verb === 'delete') info.verb = 'deletecollection';
  return info;
}

export function attributesOf(info: RequestInfo): RequestAttributes {
  if (!info.isResource) return { verb: info.verb, path: info.path };
  return {
    verb: info.verb,
    apiGroup: info.apiGroup,
    resource: info.resource,
    ...(info.subresource ? { subresource: info.subresource } : {}),
    ...(info.namespace ? { namespace: info.namespace } : {}),
    ...(info.name ? { name: info.name } : {}),
  };
}

export function objectRefOf(info: RequestInfo): AuditObjectRef | undefined {
  if (!info.isResource) return undefined;
  return {
    resource: info.resource,
    ...(info.namespace ? { namespace: info.namespace } : {}),
    ...(info.name ? { name: info.name } : {}),
    ...(info.subresource ? { subresource: info.subresource } : {}),
    ...(info.apiGroup ? { apiGroup: info.apiGroup } : {}),
    apiVersion: info.apiVersion,
  };
}
