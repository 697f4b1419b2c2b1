import { describe, expect, it } from 'vitest';
import { attributesOf, requestInfo } from './request-info.ts';

const info = (method: string, path: string) => requestInfo(method, new URL(path, 'https://x'));

describe('requestInfo', () => {
  it('maps exec over WebSocket (GET) to get and over SPDY (POST) to create', () => {
    expect(info('GET', '/api/v1/namespaces/default/pods/web/exec?command=ls')).toMatchObject({
      verb: 'get',
      resource: 'pods',
      subresource: 'exec',
      namespace: 'default',
      name: 'web',
    });
    expect(info('POST', '/api/v1/namespaces/default/pods/web/exec').verb).toBe('create');
  });

  it('tells list from watch and reads groups', () => {
    expect(info('GET', '/api/v1/pods').verb).toBe('list');
    expect(info('GET', '/api/v1/namespaces/a/pods?watch=true').verb).toBe('watch');
    expect(info('POST', '/apis/authentication.k8s.io/v1/tokenreviews')).toMatchObject({
      apiGroup: 'authentication.k8s.io',
      resource: 'tokenreviews',
      verb: 'create',
    });
  });

  it('treats a namespace object as namespaced by itself', () => {
    expect(attributesOf(info('GET', '/api/v1/namespaces/default'))).toEqual({
      verb: 'get',
      apiGroup: '',
      resource: 'namespaces',
      namespace: 'default',
      name: 'default',
    });
  });

  it('keeps non-resource paths as paths', () => {
    expect(attributesOf(info('GET', '/version'))).toEqual({ verb: 'get', path: '/version' });
  });
});
