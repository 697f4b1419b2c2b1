// Every shipped manifest, rendered like `kubectl apply -k`, against the Kubernetes OpenAPI schemas,
// plus the properties the design depends on (Pod Security, probes, token audience, RBAC).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { skipE2E } from '../support/prereq.ts';
import { type K8sObject, type Loose, parseYamlDocs, render, validateObject } from './manifests.ts';

const DEPLOY = fileURLToPath(new URL('../../deploy/', import.meta.url));
const ROOTS = ['.', 'admission-webhook', 'overlays/with-audit-rules'];

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return yamlFiles(p);
    return /\.ya?ml$/.test(name) ? [p] : [];
  });
}

const find = (objs: K8sObject[], kind: string, name: string) => {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`${kind}/${name} is not rendered`);
  return o as Loose;
};

describe.skipIf(skipE2E('deploy manifests', 'kubectl'))('deploy manifests', () => {
  const rendered = new Map<string, K8sObject[]>();
  beforeAll(() => {
    for (const root of ROOTS) rendered.set(root, render(join(DEPLOY, root)));
  });

  it.each(ROOTS)('%s renders and every object passes the OpenAPI schema', async (root) => {
    const objs = rendered.get(root)!;
    expect(objs.length).toBeGreaterThan(10);
    for (const obj of objs) await validateObject(obj);
    const names = objs.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`);
    expect(new Set(names).size).toBe(names.length);
  });

  it('the validator rejects broken manifests', async () => {
    const deployment = structuredClone(find(rendered.get('.')!, 'Deployment', 'recorder'));
    deployment.spec.replicas = 'one';
    await expect(validateObject(deployment as K8sObject)).rejects.toThrow(/replicas must be integer/);
    const pvc = structuredClone(find(rendered.get('.')!, 'PersistentVolumeClaim', 'recorder-data'));
    pvc.spec.accessModes = 'ReadWriteOnce';
    await expect(validateObject(pvc as K8sObject)).rejects.toThrow(/accessModes must be array/);
    const policy = structuredClone(
      find(rendered.get('.')!, 'ValidatingAdmissionPolicy', 'audited-exec-require-recorder'),
    );
    policy.spec.validations[0].expression = 42;
    await expect(validateObject(policy as K8sObject)).rejects.toThrow(/expression must be string/);
    await expect(
      validateObject({ apiVersion: 'example.com/v1', kind: 'Nope', metadata: { name: 'x' } }),
    ).rejects.toThrow(/no schema/);
  });

  it('every YAML file under deploy/ is rendered, referenced or the krew manifest', () => {
    const all = [...rendered.values()].flat();
    for (const file of yamlFiles(DEPLOY)) {
      const rel = relative(DEPLOY, file);
      if (/(^|\/)kustomization\.yaml$/.test(rel) || rel.startsWith('krew/') || rel.endsWith('-patch.yaml'))
        continue;
      for (const doc of parseYamlDocs(readFileSync(file, 'utf8'))) {
        const hit = all.some((o) => o.kind === doc.kind && o.metadata.name === doc.metadata.name);
        expect(hit, `${rel}: ${doc.kind}/${doc.metadata.name} is in no kustomization`).toBe(true);
      }
    }
  });

  it('runs the recorder Pod Security restricted, with HTTPS probes and a writable data volume', () => {
    const d = find(rendered.get('.')!, 'Deployment', 'recorder');
    const pod = d.spec.template.spec;
    const c = pod.containers[0];
    expect(d.spec.replicas).toBe(1);
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 65532,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(c.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(c.readinessProbe.httpGet).toMatchObject({ path: '/readyz', scheme: 'HTTPS' });
    expect(c.livenessProbe.httpGet).toMatchObject({ path: '/healthz', scheme: 'HTTPS' });
    expect(c.resources.requests).toBeDefined();
    expect(c.resources.limits).toBeDefined();
    const dataDir = c.args.find((a: string) => a.startsWith('--data-dir='))!.split('=')[1];
    const mount = c.volumeMounts.find((m: Loose) => m.mountPath === dataDir);
    expect(mount?.readOnly).not.toBe(true);
    const volume = pod.volumes.find((v: Loose) => v.name === mount.name);
    expect(volume.persistentVolumeClaim.claimName).toBe('recorder-data');
    expect(c.image).toBe('ghcr.io/audited-exec/audited-exec:0.1.0');
    const svc = find(rendered.get('.')!, 'Service', 'recorder');
    expect(svc.spec.selector).toEqual(d.spec.selector.matchLabels);
  });

  it('gives the shim host access read-only and a token only the recorder accepts', () => {
    const ds = find(rendered.get('.')!, 'DaemonSet', 'shim');
    const pod = ds.spec.template.spec;
    const c = pod.containers[0];
    expect(pod.hostPID).toBe(true);
    expect(pod.tolerations).toEqual([{ operator: 'Exists' }]);
    expect(c.securityContext.privileged).toBe(true);
    const mount = (path: string) => c.volumeMounts.find((m: Loose) => m.mountPath === path);
    expect(mount('/var/log/audit')?.readOnly).toBe(true);
    expect(mount('/host/proc')?.readOnly).toBe(true);
    const token = pod.volumes.find((v: Loose) => v.projected);
    expect(token.projected.sources[0].serviceAccountToken.audience).toBe('audited-exec');
    expect(c.args).toEqual(
      expect.arrayContaining([
        'run',
        '--token-file=/var/run/secrets/audited-exec/token',
        '--node=$(NODE_NAME)',
      ]),
    );
    expect(pod.initContainers).toBeUndefined();
    const opted = find(rendered.get('overlays/with-audit-rules')!, 'DaemonSet', 'shim');
    expect(opted.spec.template.spec.initContainers[0].name).toBe('load-audit-rules');
  });

  it('lets the recorder impersonate the session extra and nobody else', () => {
    const objs = rendered.get('.')!;
    const role = find(objs, 'ClusterRole', 'audited-exec:recorder');
    const rules = role.rules as Loose[];
    expect(rules).toContainEqual({
      apiGroups: ['authentication.k8s.io'],
      resources: ['uids', 'userextras/audited-exec.io/session'],
      verbs: ['impersonate'],
    });
    const impersonators = objs
      .filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role')
      .filter((o) => ((o as Loose).rules as Loose[]).some((r) => r.verbs.includes('impersonate')));
    expect(impersonators.map((o) => o.metadata.name)).toEqual(['audited-exec:recorder']);
    const debugRole = find(objs, 'Role', 'audited-exec:recorder-debug-pods');
    expect(debugRole.metadata.namespace).toBe('audited-exec-debug');
    expect(rules.some((r) => r.resources.includes('pods') && r.verbs.includes('create'))).toBe(false);
    const reader = find(objs, 'RoleBinding', 'audited-exec:plugin-config-reader');
    expect(reader.subjects).toEqual([
      { apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'system:authenticated' },
    ]);
    const cm = find(objs, 'ConfigMap', 'audited-exec-plugin');
    expect(Object.keys(cm.data).sort()).toEqual(['ca.crt', 'server']);
    const debugNs = find(objs, 'Namespace', 'audited-exec-debug');
    expect(debugNs.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('privileged');
  });

  it('the webhook variant calls the recorder on /admission/validate and fails closed', () => {
    const objs = rendered.get('admission-webhook')!;
    const hook = find(objs, 'ValidatingWebhookConfiguration', 'audited-exec-require-recorder');
    for (const w of hook.webhooks as Loose[]) {
      expect(w.failurePolicy).toBe('Fail');
      expect(w.clientConfig.service).toMatchObject({
        name: 'recorder',
        namespace: 'audited-exec',
        path: '/admission/validate',
      });
    }
    expect(objs.some((o) => o.kind === 'ValidatingAdmissionPolicy')).toBe(false);
  });
});
