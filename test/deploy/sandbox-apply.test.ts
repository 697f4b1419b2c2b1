// Applies the rendered install to the sandbox apiserver with real kubectl, for the kinds the
// sandbox serves (ConfigMap; Namespaces are preset there and only checked), and enforces the
// shipped RBAC in it: the plugin's ConfigMap is readable by any user, only the recorder impersonates.
import { execFile } from 'node:child_process';
import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '../sandbox/index.ts';
import { KUBECTL, skipE2E } from '../support/prereq.ts';
import { type K8sObject, render } from './manifests.ts';
import { flattenRbac } from './rbac-flatten.ts';

const DEPLOY = new URL('../../deploy/', import.meta.url).pathname;
const HA = new URL('../../deploy/overlays/ha/', import.meta.url).pathname;

/** Async on purpose: the sandbox serves from this process, a sync child would block it. */
function kubectl(
  kubeconfig: string,
  args: string[],
  input?: string,
): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = execFile(KUBECTL, ['--kubeconfig', kubeconfig, ...args], (error, out, err) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, out, err }),
    );
    child.stdin!.end(input ?? '');
  });
}

describe.skipIf(skipE2E('deploy: apply to the sandbox', 'kubectl'))('deploy: apply to the sandbox', () => {
  let sb: Sandbox;
  let objects: K8sObject[];
  let ha: K8sObject[];
  beforeAll(async () => {
    objects = render(DEPLOY);
    ha = render(HA);
    sb = await startSandbox({ runtime: 'pty', log: () => {} });
  });
  afterAll(async () => {
    await sb?.stop();
  });

  it('applies what the sandbox serves and counts what it skips', async () => {
    const applied: string[] = [];
    const skipped = new Map<string, number>();
    for (const obj of objects) {
      if (obj.kind === 'ConfigMap') {
        const r = await kubectl(
          sb.kubeconfigFor('admin'),
          ['apply', '--validate=false', '-f', '-'],
          JSON.stringify(obj),
        );
        expect(r.err).toBe('');
        expect(r.out).toContain(`configmap/${obj.metadata.name} created`);
        applied.push(`${obj.kind}/${obj.metadata.name}`);
      } else if (obj.kind === 'Namespace' && obj.metadata.name === 'audited-exec') {
        const r = await kubectl(sb.kubeconfigFor('admin'), [
          'get',
          'namespace',
          obj.metadata.name,
          '-o',
          'name',
        ]);
        expect(r.out.trim()).toBe('namespace/audited-exec');
        applied.push(`${obj.kind}/${obj.metadata.name} (preset)`);
      } else {
        skipped.set(obj.kind, (skipped.get(obj.kind) ?? 0) + 1);
      }
    }
    process.stderr.write(
      `deploy → sandbox: applied ${applied.join(', ')}; skipped (kind not served by the sandbox): ${[
        ...skipped,
      ]
        .map(([k, n]) => `${k} ×${n}`)
        .join(', ')}\n`,
    );
    expect(applied).toContain('ConfigMap/audited-exec-plugin');
  });

  it('the ha overlay: its own ConfigMap applies beside the install, and it grants exactly the same RBAC', async () => {
    const key = (o: K8sObject) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    const installed = new Set(objects.map(key));
    const own = ha.filter((o) => o.kind === 'ConfigMap' && !installed.has(key(o)));
    expect(own.map((o) => o.metadata.name)).toEqual(['recorder-object-store']);
    for (const obj of own) {
      const r = await kubectl(
        sb.kubeconfigFor('admin'),
        ['apply', '--validate=false', '-f', '-'],
        JSON.stringify(obj),
      );
      expect(r.err).toBe('');
      expect(r.out).toContain(`configmap/${obj.metadata.name} created`);
    }
    // Three replicas run as the one recorder service account: nothing more to grant, nothing lost.
    const rules = (objs: K8sObject[]) =>
      flattenRbac(objs)
        .map((r) => JSON.stringify(r))
        .sort();
    expect(rules(ha)).toEqual(rules(objects));
  });

  it('lets any authenticated user read the plugin ConfigMap, and nothing else there', async () => {
    sb.setRbac({ rules: flattenRbac(objects) });
    const alice = sb.kubeconfigFor('alice');
    const get = await kubectl(alice, [
      'get',
      'configmap',
      '-n',
      'audited-exec',
      'audited-exec-plugin',
      '-o',
      'jsonpath={.data.server}',
    ]);
    expect(get.err).toBe('');
    expect(get.out).toBe('https://recorder.audited-exec.svc:443');
    const list = await kubectl(alice, ['get', 'configmaps', '-n', 'audited-exec']);
    expect(list.code).not.toBe(0);
    expect(list.err).toContain('forbidden');
  });

  it('lets the recorder impersonate a user with the session extra, and a user not', async () => {
    sb.setRbac({ rules: flattenRbac(objects) });
    // kubectl has no flag for impersonated extras; send the headers the recorder sends.
    const get = (token: string) =>
      apiGet(sb, token, '/api/v1/namespaces/audited-exec/configmaps/audited-exec-plugin', {
        'Impersonate-User': 'alice',
        'Impersonate-Group': ['dev'],
        'Impersonate-Extra-audited-exec.io%2Fsession': '3f6c1c52-8d1e-4a43-9b7e-0a4f5d8c2e11',
      });
    const recorder = await get(sb.tokens.recorder!);
    expect(recorder.status, recorder.body).toBe(200);
    expect((JSON.parse(recorder.body) as K8sObject).metadata.name).toBe('audited-exec-plugin');
    const bob = await get(sb.tokens.bob!);
    expect(bob.status).toBe(403);
    expect(bob.body).toMatch(/cannot impersonate/);
  });
});

function apiGet(
  sb: Sandbox,
  token: string,
  path: string,
  headers: Record<string, string | string[]>,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, sb.url),
      { ca: sb.caPem, headers: { authorization: `Bearer ${token}`, ...headers } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}
