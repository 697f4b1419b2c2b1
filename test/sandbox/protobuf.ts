// Kubernetes protobuf request bodies → JSON, for the few kinds clients create with protobuf
// (kubectl's typed clients: `kubectl debug node` posts its Pod, `kubectl create configmap` its
// ConfigMap). Envelope: "k8s\0" + runtime.Unknown{typeMeta{apiVersion, kind}, raw}. Only the fields
// the sandbox reads are mapped (numbers from k8s.io/api/core/v1/generated.proto); the rest are
// dropped. Pure.

type Kind = 'string' | 'bool' | 'int' | 'bytes';
interface FieldSpec {
  name: string;
  kind?: Kind;
  schema?: Schema;
  repeated?: boolean;
  /** map<string,string> entries {1: key, 2: value} */
  map?: boolean;
  /** inline the submessage's fields into the parent (VolumeSource in Volume) */
  embed?: boolean;
}
type Schema = Record<number, FieldSpec>;

const S = (name: string, kind: Kind = 'string', repeated = false): FieldSpec => ({ name, kind, repeated });
const M = (name: string, schema: Schema, repeated = false): FieldSpec => ({ name, schema, repeated });

const OBJECT_META: Schema = {
  1: S('name'),
  2: S('generateName'),
  3: S('namespace'),
  5: S('uid'),
  11: { name: 'labels', map: true },
  12: { name: 'annotations', map: true },
};
const ENV_VAR: Schema = { 1: S('name'), 2: S('value') };
const VOLUME_MOUNT: Schema = { 1: S('name'), 2: S('readOnly', 'bool'), 3: S('mountPath'), 4: S('subPath') };
const SECURITY_CONTEXT: Schema = { 2: S('privileged', 'bool'), 4: S('runAsUser', 'int') };
const CONTAINER: Schema = {
  1: S('name'),
  2: S('image'),
  3: S('command', 'string', true),
  4: S('args', 'string', true),
  5: S('workingDir'),
  7: M('env', ENV_VAR, true),
  9: M('volumeMounts', VOLUME_MOUNT, true),
  14: S('imagePullPolicy'),
  15: M('securityContext', SECURITY_CONTEXT),
  16: S('stdin', 'bool'),
  17: S('stdinOnce', 'bool'),
  18: S('tty', 'bool'),
  20: S('terminationMessagePolicy'),
};
const VOLUME: Schema = {
  1: S('name'),
  2: {
    name: 'volumeSource',
    embed: true,
    schema: { 1: M('hostPath', { 1: S('path'), 2: S('type') }), 2: M('emptyDir', {}) },
  },
};
const TOLERATION: Schema = { 1: S('key'), 2: S('operator'), 3: S('value'), 4: S('effect') };
const POD_SPEC: Schema = {
  1: M('volumes', VOLUME, true),
  2: M('containers', CONTAINER, true),
  3: S('restartPolicy'),
  8: S('serviceAccountName'),
  10: S('nodeName'),
  11: S('hostNetwork', 'bool'),
  12: S('hostPID', 'bool'),
  13: S('hostIPC', 'bool'),
  22: M('tolerations', TOLERATION, true),
};
// k8s.io/api/authentication/v1 generated.proto: TokenRequestSpec and BoundObjectReference.
const BOUND_OBJECT: Schema = { 1: S('kind'), 2: S('apiVersion'), 3: S('name'), 4: S('uid') };
const TOKEN_REQUEST_SPEC: Schema = {
  1: S('audiences', 'string', true),
  3: M('boundObjectRef', BOUND_OBJECT),
  4: S('expirationSeconds', 'int'),
};
const KINDS: Record<string, Schema> = {
  Pod: { 1: M('metadata', OBJECT_META), 2: M('spec', POD_SPEC) },
  ConfigMap: { 1: M('metadata', OBJECT_META), 2: { name: 'data', map: true } },
  // kubectl create token: the TokenRequest subresource of a ServiceAccount
  TokenRequest: { 1: M('metadata', OBJECT_META), 2: M('spec', TOKEN_REQUEST_SPEC) },
};

/** Kinds outside the core group, by their apiVersion. */
const API_VERSIONS: Record<string, string> = { TokenRequest: 'authentication.k8s.io/v1' };

export const PROTOBUF_CONTENT_TYPE = 'application/vnd.kubernetes.protobuf';
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

interface RawField {
  num: number;
  wire: number;
  int?: bigint;
  bytes?: Buffer;
}

function varint(b: Buffer, at: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  for (let i = at; i < b.length; i++) {
    const c = b[i]!;
    result |= BigInt(c & 0x7f) << shift;
    if (c < 0x80) return [result, i + 1];
    shift += 7n;
  }
  throw new Error('truncated varint');
}

export function rawFields(b: Buffer): RawField[] {
  const out: RawField[] = [];
  let i = 0;
  while (i < b.length) {
    const [key, next] = varint(b, i);
    i = next;
    const num = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (wire === 0) {
      const [v, n] = varint(b, i);
      out.push({ num, wire, int: v });
      i = n;
    } else if (wire === 2) {
      const [len, n] = varint(b, i);
      const end = n + Number(len);
      if (end > b.length) throw new Error('truncated field');
      out.push({ num, wire, bytes: b.subarray(n, end) });
      i = end;
    } else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else throw new Error(`unsupported wire type ${wire}`);
  }
  return out;
}

function decodeMessage(b: Buffer, schema: Schema): Record<string, unknown> {
  const obj: Record<string, unknown> = {};
  for (const f of rawFields(b)) {
    const spec = schema[f.num];
    if (!spec) continue;
    let value: unknown;
    if (spec.map) {
      const entry = rawFields(f.bytes ?? Buffer.alloc(0));
      const key = entry.find((e) => e.num === 1)?.bytes?.toString('utf8') ?? '';
      const val = entry.find((e) => e.num === 2)?.bytes?.toString('utf8') ?? '';
      obj[spec.name] = { ...(obj[spec.name] as object | undefined), [key]: val };
      continue;
    }
    if (spec.schema) value = decodeMessage(f.bytes ?? Buffer.alloc(0), spec.schema);
    else if (spec.kind === 'bool') value = f.int === 1n;
    else if (spec.kind === 'int') value = Number(f.int ?? 0n);
    else value = f.bytes?.toString('utf8') ?? '';
    // Go's omitempty: proto2 sends every optional scalar, JSON from the apiserver leaves zeros out.
    if (!spec.schema && !spec.repeated && (value === '' || value === false || value === 0)) continue;
    if (spec.embed) Object.assign(obj, value);
    else if (spec.repeated) obj[spec.name] = [...((obj[spec.name] as unknown[] | undefined) ?? []), value];
    else obj[spec.name] = value;
  }
  return obj;
}

/** Decodes an enveloped protobuf object; throws on a kind the sandbox does not map. */
export function decodeKubeProtobuf(body: Buffer): Record<string, unknown> {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC))
    throw new Error('not a Kubernetes protobuf envelope');
  const unknown = rawFields(body.subarray(4));
  const typeMeta = rawFields(unknown.find((f) => f.num === 1)?.bytes ?? Buffer.alloc(0));
  const apiVersion = typeMeta.find((f) => f.num === 1)?.bytes?.toString('utf8') ?? '';
  const kind = typeMeta.find((f) => f.num === 2)?.bytes?.toString('utf8') ?? '';
  const schema = KINDS[kind];
  if (!schema || apiVersion !== (API_VERSIONS[kind] ?? 'v1'))
    throw new Error(`protobuf ${apiVersion} ${kind} is not supported; send JSON`);
  const raw = unknown.find((f) => f.num === 2)?.bytes ?? Buffer.alloc(0);
  return { apiVersion, kind, ...decodeMessage(raw, schema) };
}
