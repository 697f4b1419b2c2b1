import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentialsFor, kubeconfigPaths, loadKubeconfig } from '../../../common/kubeconfig/load.ts';

let dir: string;
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

let a: string;
let b: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'plugin-kubeconfig-'));
  file('token', 'from-file\n');
  file('client.crt', 'CERT');
  file('client.key', 'KEY');
  a = file(
    'a.yaml',
    `apiVersion: v1
kind: Config
current-context: alice
contexts:
- {name: alice, context: {cluster: sandbox, user: alice, namespace: team-a}}
- {name: bob, context: {cluster: sandbox, user: bob}}
- {name: certs, context: {cluster: sandbox, user: certs}}
clusters:
- {name: sandbox, cluster: {server: "https://127.0.0.1:6443"}}
users:
- {name: alice, user: {token: alice-token}}
- {name: bob, user: {tokenFile: token}}
- {name: certs, user: {client-certificate: client.crt, client-key: client.key}}
`,
  );
  b = file(
    'b.yaml',
    `apiVersion: v1
kind: Config
current-context: other
contexts:
- {name: other, context: {cluster: elsewhere, user: carol, namespace: team-b}}
- {name: alice, context: {cluster: elsewhere, user: carol, namespace: shadowed}}
clusters:
- {name: elsewhere, cluster: {server: "https://10.0.0.1:6443"}}
users:
- {name: carol, user: {token: carol-token}}
`,
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('kubeconfigPaths', () => {
  it('prefers --kubeconfig, then every existing KUBECONFIG entry, then ~/.kube/config', () => {
    expect(kubeconfigPaths({ kubeconfig: b, env: { KUBECONFIG: a }, homeDir: dir })).toEqual([b]);
    const missing = join(dir, 'nope.yaml');
    expect(kubeconfigPaths({ env: { KUBECONFIG: [a, missing, b].join(delimiter) }, homeDir: dir })).toEqual([
      a,
      b,
    ]);
    expect(kubeconfigPaths({ env: {}, homeDir: dir })).toEqual([]);
  });
});

describe('loadKubeconfig', () => {
  it('uses the current context and its namespace; -n overrides it', () => {
    const k = loadKubeconfig({ kubeconfig: a, env: {}, homeDir: dir });
    expect(k).toMatchObject({ context: 'alice', namespace: 'team-a', namespaceFromFlag: false });
    expect(k.apiServer).toBe('https://127.0.0.1:6443');
    expect(loadKubeconfig({ kubeconfig: a, namespace: 'x', env: {}, homeDir: dir })).toMatchObject({
      namespace: 'x',
      namespaceFromFlag: true,
    });
  });

  it('falls back to "default" when the context has no namespace; --context switches', () => {
    expect(loadKubeconfig({ kubeconfig: a, context: 'bob', env: {}, homeDir: dir })).toMatchObject({
      context: 'bob',
      namespace: 'default',
    });
    expect(() => loadKubeconfig({ kubeconfig: a, context: 'zed', env: {}, homeDir: dir })).toThrow(
      /context "zed" does not exist/,
    );
  });

  it('merges KUBECONFIG like kubectl: the first file to set current-context or a name wins', () => {
    const k = loadKubeconfig({ env: { KUBECONFIG: [a, b].join(delimiter) }, homeDir: dir });
    expect(k.context).toBe('alice');
    expect(k.namespace).toBe('team-a'); // b's "alice" context is shadowed
    const other = loadKubeconfig({
      env: { KUBECONFIG: [a, b].join(delimiter) },
      context: 'other',
      homeDir: dir,
    });
    expect(other).toMatchObject({ namespace: 'team-b', apiServer: 'https://10.0.0.1:6443' });
  });

  it('says what to do when there is no kubeconfig', () => {
    expect(() => loadKubeconfig({ env: {}, homeDir: dir })).toThrow(
      expect.objectContaining({ code: 'NO_KUBECONFIG' }),
    );
  });
});

describe('credentialsFor', () => {
  it('returns the bearer token (inline or from tokenFile) and nothing for the apiserver only', async () => {
    const alice = loadKubeconfig({ kubeconfig: a, env: {}, homeDir: dir });
    expect(await credentialsFor(alice)).toEqual({ headers: { Authorization: 'Bearer alice-token' } });
    const bob = loadKubeconfig({ kubeconfig: a, context: 'bob', env: {}, homeDir: dir });
    expect((await credentialsFor(bob)).headers.Authorization).toBe('Bearer from-file');
  });

  it('--token replaces the kubeconfig user, certificate and all, as kubectl --token does', async () => {
    const certs = loadKubeconfig({
      kubeconfig: a,
      context: 'certs',
      token: 'flag-token',
      env: {},
      homeDir: dir,
    });
    expect(await credentialsFor(certs)).toEqual({ headers: { Authorization: 'Bearer flag-token' } });
    expect(certs.namespace).toBe('default');
  });

  it('returns the client certificate and key, resolved relative to the kubeconfig', async () => {
    const certs = loadKubeconfig({ kubeconfig: a, context: 'certs', env: {}, homeDir: dir });
    const c = await credentialsFor(certs);
    expect(c.cert?.toString()).toBe('CERT');
    expect(c.key?.toString()).toBe('KEY');
    expect(c.headers).toEqual({});
  });
});
