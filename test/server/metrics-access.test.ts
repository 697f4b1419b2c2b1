// GET /metrics on the real recorder against the sandbox apiserver's RBAC, with the roles deploy/
// ships: only a caller with `get` on the non-resource URL /metrics (ClusterRole
// audited-exec:metrics-reader, bound here to a Prometheus service account) reads it; bob, alice and
// the auditor get 403. And the auditor role grants what the recorder checks, nothing it does not.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type K8sObject, parseYamlDocs } from '../deploy/manifests.ts';
import { flattenRbac } from '../deploy/rbac-flatten.ts';
import { defaultPolicy, type Sandbox, startSandbox } from '../sandbox/index.ts';
import { type RecorderHandle, startRecorder } from '../support/recorder.ts';
import { call } from './client.ts';

const RBAC_USERS = join(import.meta.dirname, '../../deploy/app/rbac-users.yaml');
const PROMETHEUS = { namespace: 'monitoring', name: 'prometheus' };

describe('GET /metrics is behind RBAC', () => {
  let sb: Sandbox;
  let rec: RecorderHandle;
  const shipped = parseYamlDocs(readFileSync(RBAC_USERS, 'utf8'));

  beforeAll(async () => {
    sb = await startSandbox({ log: () => {} });
    const binding: K8sObject & Record<string, unknown> = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'prometheus-reads-audited-exec' },
      roleRef: {
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'ClusterRole',
        name: 'audited-exec:metrics-reader',
      },
      subjects: [{ kind: 'ServiceAccount', ...PROMETHEUS }],
    };
    sb.setRbac({ rules: [...defaultPolicy().rules, ...flattenRbac([...shipped, binding])] });
    rec = await startRecorder({ sandbox: sb });
  }, 60_000);
  afterAll(async () => {
    await rec?.stop();
    await sb?.stop();
  });

  it('answers 403 to users without get on /metrics, 200 to the bound monitoring identity', async () => {
    for (const user of ['bob', 'alice', 'auditor']) {
      const r = await call(rec, { token: sb.tokens[user]! }, 'GET', '/metrics');
      expect(r.status, user).toBe(403);
      expect(r.body).toMatchObject({ kind: 'Status', code: 403 });
      expect(r.text).not.toContain('audited_exec_');
    }
    expect((await call(rec, {}, 'GET', '/metrics')).status).toBe(401);
    const prometheus = sb.serviceAccountToken(PROMETHEUS);
    const ok = await call(rec, { token: prometheus }, 'GET', '/metrics');
    expect(ok.status).toBe(200);
    expect(ok.text).toContain('# TYPE audited_exec_sessions_active gauge');
  });

  it('ships an auditor role of sessions only: the recorder checks no subresource', () => {
    const auditor = shipped.find(
      (o) => o.kind === 'ClusterRole' && o.metadata.name === 'audited-exec:auditor',
    ) as (K8sObject & { rules: { resources?: string[] }[] }) | undefined;
    expect(auditor?.rules.flatMap((r) => r.resources ?? [])).toEqual(['sessions']);
  });
});
