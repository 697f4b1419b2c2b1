// Renders the kustomizations the way `kubectl apply -k` does (kubectl's built-in kustomize) and
// validates every object against the Kubernetes OpenAPI schemas bundled in kubernetes-models.
import { execFileSync } from 'node:child_process';
import { parseAllDocuments } from 'yaml';
import { KUBECTL } from '../support/prereq.ts';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

export function parseYamlDocs(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((d) => {
      if (d.errors.length) throw new Error(`YAML error: ${d.errors[0]!.message}`);
      return d.toJS() as K8sObject | null;
    })
    .filter((d): d is K8sObject => d !== null);
}

export function render(dir: string): K8sObject[] {
  return parseYamlDocs(
    execFileSync(KUBECTL, ['kustomize', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }),
  );
}

/** A rendered object navigated by path in assertions; its shape was checked by validateObject. */
// biome-ignore lint/suspicious/noExplicitAny: manifests are walked by path in tests after schema validation
export type Loose = Record<string, any>;

interface Validatable {
  validate(): void;
}
type ModelClass = new (data: unknown) => Validatable;

/** kubernetes-models lays modules out as <group>/<version>/<Kind>.js (core group: v1/<Kind>.js). */
async function modelFor(apiVersion: string, kind: string): Promise<ModelClass | null> {
  if (!/^[A-Za-z0-9.]+(\/v[0-9a-z]+)?$/.test(apiVersion) || !/^[A-Za-z]+$/.test(kind)) return null;
  try {
    const mod = (await import(/* @vite-ignore */ `kubernetes-models/${apiVersion}/${kind}`)) as Record<
      string,
      ModelClass
    >;
    return mod[kind] ?? null;
  } catch {
    return null;
  }
}

/** Throws with the schema's complaint; unknown kinds are an error too (nothing ships unchecked). */
export async function validateObject(obj: K8sObject): Promise<void> {
  const what = `${obj.kind}/${obj.metadata?.name} (${obj.apiVersion})`;
  if (!obj.metadata?.name) throw new Error(`${what}: metadata.name is required`);
  const Model = await modelFor(obj.apiVersion, obj.kind);
  if (!Model) throw new Error(`${what}: no schema for this apiVersion/kind`);
  const { apiVersion: _a, kind: _k, ...data } = obj;
  try {
    new Model(data).validate();
  } catch (err) {
    throw new Error(`${what}: ${(err as Error).message}`);
  }
}
