// Every shipped manifest, rendered like `kubectl apply -k`, against the Kubernetes OpenAPI schemas,
// plus the properties the design depends on (Pod Security, probes, token audience, RBAC).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseSettings, type Settings } from '../../server/config.ts';
import { QUIET_MS } from '../../server/replicas/drain.ts';
import { skipE2E } from '../support/prereq.ts';
import { type K8sObject, type Loose, parseYamlDocs, render, validateObject } from './manifests.ts';

const DEPLOY = fileURLToPath(new URL('../../deploy/', import.meta.url));
const ROOTS = ['.', 'admission-webhook', 'overlays/with-audit-rules', 'overlays/ha'];

/** The Secrets the ha overlay reads, by name and key, as deploy/README.md "Scaling" creates them. */
const HA_SECRETS: Record<string, Record<string, string>> = {
  'recorder-tls': { 'tls.crt': 'CERT', 'tls.key': 'KEY' },
  'recorder-signing-key': { 'signing-key.pem': 'PEM' },
  'audited-exec-database': { url: 'postgres://recorder:secret@postgres.db.svc:5432/audited_exec' },
  'recorder-s3': { 'access-key-id': 'AKIA', 'secret-access-key': 'SECRET' },
};

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

/**
 * The recorder's settings in a rendered pod, as the kubelet would start it: env resolved from
 * field refs, the rendered ConfigMaps and `secrets` (a reference to any other Secret throws), then
 * $(VAR) in args expanded, then the recorder's own flag parser (server/config.ts) applied.
 */
function recorderSettings(
  objs: K8sObject[],
  pod: Loose,
  fields: { 'metadata.name': string; 'status.podIP': string },
  secrets: Record<string, Record<string, string>> = {},
): Settings {
  const c = pod.containers.find((x: Loose) => x.name === 'recorder');
  const env: Record<string, string> = {};
  const expand = (v: string) => v.replace(/\$\((\w+)\)/g, (all, name: string) => env[name] ?? all);
  for (const e of (c.env ?? []) as Loose[]) {
    const from = e.valueFrom;
    let value: string | undefined;
    if (!from) value = expand(e.value ?? '');
    else if (from.fieldRef) value = fields[from.fieldRef.fieldPath as keyof typeof fields];
    else if (from.configMapKeyRef) {
      const ref = from.configMapKeyRef;
      value = find(objs, 'ConfigMap', ref.name).data?.[ref.key];
      if (value === undefined && !ref.optional) throw new Error(`ConfigMap ${ref.name} has no ${ref.key}`);
    } else if (from.secretKeyRef) {
      const ref = from.secretKeyRef;
      value = secrets[ref.name]?.[ref.key];
      if (value === undefined)
        throw new Error(`${e.name}: Secret ${ref.name} key ${ref.key} is not documented`);
    }
    if (value === undefined) throw new Error(`${e.name}: cannot resolve ${JSON.stringify(from)}`);
    env[e.name] = value;
  }
  return parseSettings(['node', ...(c.args as string[]).map(expand)], env, '/');
}

/** The Secret a file flag (--tls-cert, --signing-key, …) is read from, with the volume's mode. */
function secretBehind(pod: Loose, file: string): { secretName: string; defaultMode?: number } {
  const c = pod.containers.find((x: Loose) => x.name === 'recorder');
  const mount = (c.volumeMounts as Loose[]).find((m) => file.startsWith(`${m.mountPath}/`));
  if (!mount) throw new Error(`${file} is on no volume`);
  expect(mount.readOnly).toBe(true);
  const volume = (pod.volumes as Loose[]).find((v) => v.name === mount.name);
  return volume?.secret;
}

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

  it('the default recorder drains within its grace period and leaves the Service in time', () => {
    const d = find(rendered.get('.')!, 'Deployment', 'recorder');
    const pod = d.spec.template.spec;
    expect(d.spec.strategy.type).toBe('Recreate');
    const settings = recorderSettings(rendered.get('.')!, pod, {
      'metadata.name': 'recorder-7c9d',
      'status.podIP': '10.0.0.7',
    });
    expect(settings.database).toBeUndefined();
    expect(settings.drainTimeoutMs).toBeGreaterThan(0);
    // After the drain the recorder still ends sessions, seals and closes: a margin, not an equality.
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThanOrEqual(settings.drainTimeoutMs + 15_000);
    const ready = pod.containers[0].readinessProbe;
    expect(ready).toMatchObject({ periodSeconds: 1, failureThreshold: 2 });
  });

  it('the ha overlay: three replicas that drain in turn, sharing one database, bucket, certificate and key', () => {
    const objs = rendered.get('overlays/ha')!;
    expect(objs.some((o) => o.kind === 'Deployment' && o.metadata.name === 'recorder')).toBe(false);
    expect(objs.some((o) => o.kind === 'PersistentVolumeClaim')).toBe(false);
    const sts = find(objs, 'StatefulSet', 'recorder');
    const pod = sts.spec.template.spec;
    const labels = sts.spec.template.metadata.labels;
    expect(sts.spec.replicas).toBe(3);
    expect(sts.spec.updateStrategy.type).toBe('RollingUpdate');
    expect(find(objs, 'Service', sts.spec.serviceName).spec.clusterIP).toBe('None');
    expect(find(objs, 'Service', 'recorder').spec.selector).toEqual(sts.spec.selector.matchLabels);
    expect(sts.spec.selector.matchLabels).toEqual(labels);
    const pdb = find(objs, 'PodDisruptionBudget', 'recorder');
    expect(pdb.spec.minAvailable).toBe(2);
    expect(pdb.spec.selector.matchLabels).toEqual(sts.spec.selector.matchLabels);
    const spread = pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0];
    expect(spread.podAffinityTerm).toEqual({
      topologyKey: 'kubernetes.io/hostname',
      labelSelector: { matchLabels: labels },
    });
    const data = sts.spec.volumeClaimTemplates.find((t: Loose) => t.metadata.name === 'data');
    expect(data.spec.accessModes).toEqual(['ReadWriteOnce']);

    // Each replica as the kubelet starts it, through the recorder's own flag parser.
    const replicas = ['recorder-0', 'recorder-1', 'recorder-2'].map((name, i) =>
      recorderSettings(objs, pod, { 'metadata.name': name, 'status.podIP': `10.0.0.${i + 1}` }, HA_SECRETS),
    );
    for (const [i, s] of replicas.entries()) {
      expect(s.replicaId).toBe(`recorder-${i}`);
      expect(s.advertiseUrl).toBe(`https://10.0.0.${i + 1}:${s.port}`);
      expect(pod.containers[0].ports[0].containerPort).toBe(s.port);
      expect(s.database).toBe(HA_SECRETS['audited-exec-database']!.url);
      expect(s.objectStore).toMatch(/^s3:\/\/[a-z0-9.-]+\/./);
      expect(s.drainTimeoutMs).toBeGreaterThan(0);
      expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThanOrEqual(s.drainTimeoutMs + 15_000);
      // One serving certificate and one evidence key for all: the same Secrets, the key unreadable to others.
      expect(secretBehind(pod, s.tlsCertFile!).secretName).toBe('recorder-tls');
      expect(secretBehind(pod, s.tlsKeyFile!).secretName).toBe('recorder-tls');
      const key = secretBehind(pod, s.signingKeyFile!);
      expect(key.secretName).toBe('recorder-signing-key');
      expect((key.defaultMode ?? 0o644) & 0o007).toBe(0);
    }
    // The default install's certificate Secret, so moving to ha keeps what the plugin trusts.
    const single = find(rendered.get('.')!, 'Deployment', 'recorder').spec.template.spec;
    expect(single.volumes.find((v: Loose) => v.name === 'tls').secret.secretName).toBe('recorder-tls');

    // A drained replica waits for QUIET_MS without traffic: the probe must take it out sooner.
    const ready = pod.containers[0].readinessProbe;
    expect(ready).toMatchObject({ httpGet: { path: '/readyz' }, periodSeconds: 1, failureThreshold: 2 });
    expect(ready.periodSeconds * ready.failureThreshold * 1000).toBeLessThan(QUIET_MS);
  });

  it('deploy/README.md tells how to create every Secret and key the ha overlay reads', () => {
    const readme = readFileSync(join(DEPLOY, 'README.md'), 'utf8');
    const start = readme.indexOf('\n## Scaling\n');
    expect(start, 'deploy/README.md has a "Scaling" section').toBeGreaterThan(0);
    const end = readme.indexOf('\n## ', start + 1);
    const scaling = readme.slice(start, end < 0 ? undefined : end);
    const sts = find(rendered.get('overlays/ha')!, 'StatefulSet', 'recorder').spec.template.spec;
    const read = new Set<string>();
    for (const e of sts.containers[0].env as Loose[]) {
      const ref = e.valueFrom?.secretKeyRef;
      if (ref) read.add(`${ref.name} ${ref.key}`);
    }
    for (const v of sts.volumes as Loose[]) if (v.secret) read.add(`${v.secret.secretName} *`);
    const documented = Object.entries(HA_SECRETS).flatMap(([name, keys]) =>
      Object.keys(keys).map((k) => `${name} ${k}`),
    );
    for (const ref of read) {
      const [name, key] = ref.split(' ') as [string, string];
      expect(HA_SECRETS, `Secret ${name}`).toHaveProperty([name]);
      if (key !== '*') expect(documented).toContain(ref);
      expect(scaling).toContain(name);
    }
    for (const ref of documented) {
      const [name, key] = ref.split(' ') as [string, string];
      if (name !== 'recorder-tls') expect(scaling, `${name} ${key}`).toContain(key);
    }
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

  it('ships the session moderator role: terminate only, aggregated to admin, bound to one group', () => {
    const objs = rendered.get('.')!;
    const role = find(objs, 'ClusterRole', 'audited-exec:session-moderator');
    expect(role.metadata.labels['rbac.authorization.k8s.io/aggregate-to-admin']).toBe('true');
    expect(role.rules).toEqual([
      { apiGroups: ['audited-exec.io'], resources: ['sessions'], verbs: ['terminate'] },
    ]);
    const binding = find(objs, 'ClusterRoleBinding', 'audited-exec:session-moderators');
    expect(binding.roleRef.name).toBe('audited-exec:session-moderator');
    // Reading recordings is still the auditor's alone, never aggregated anywhere.
    const auditor = find(objs, 'ClusterRole', 'audited-exec:auditor');
    expect(Object.keys(auditor.metadata.labels ?? {}).filter((k) => k.includes('aggregate'))).toEqual([]);
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
