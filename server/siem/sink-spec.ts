// `--siem-sink` specs: what an operator writes, checked once at start with one clear sentence per
// mistake. A spec is comma-separated key=value pairs, as `docker run --mount` takes them:
//
//   type=webhook,url=https://soc.example/hooks/audited-exec,secret-file=/run/secrets/siem-hmac
//   type=syslog,url=tls://syslog.example:6514,ca-file=/etc/audited-exec/syslog-ca.pem
//   type=syslog,url=relp://syslog.example:2514  (RELP: each message acknowledged; plain TCP only)
//   (with cert-file=…,key-file=… for a receiver that asks for a client certificate)
//   type=splunk,url=https://splunk.example:8088,token-env=SPLUNK_HEC_TOKEN,index=k8s-audit
//
// Secrets come from a file (`secret-file`, `token-file`, read when the sink is opened) or from an
// environment variable (`secret-env`, `token-env`, read here); never inline. Pure: the environment
// is passed in.
import { resolve } from 'node:path';
import { AuditedExecError } from '../../common/errors.ts';

export type SecretRef = { file: string } | { env: string; value: string };

interface CommonSpec {
  /** Names the sink in metrics, logs and its spool cursor; default its type. Unique. */
  name: string;
  url: string;
  /** Most events per delivery (default 200). */
  batch: number;
  /** How long one delivery may take before it counts as failed (default 10 s). */
  timeoutMs: number;
  /** The longest wait between retries (default 30 s); the first is 0.5 s, doubling, jittered. */
  retryMaxMs: number;
  /** PEM bundle that verifies an https:// or tls:// receiver; default: the system's CAs. */
  caFile?: string;
}

export type SinkSpec =
  | (CommonSpec & { type: 'webhook'; secret: SecretRef })
  | (CommonSpec & { type: 'syslog'; clientCert?: { certFile: string; keyFile: string } })
  | (CommonSpec & { type: 'splunk'; token: SecretRef; index?: string });

export type SinkType = SinkSpec['type'];

const KEYS: Record<SinkType, readonly string[]> = {
  webhook: ['secret-file', 'secret-env'],
  syslog: ['cert-file', 'key-file'],
  splunk: ['token-file', 'token-env', 'index'],
};
const COMMON_KEYS = ['type', 'name', 'url', 'batch', 'timeout', 'retry-max', 'ca-file'];
const SCHEMES: Record<SinkType, readonly string[]> = {
  webhook: ['http:', 'https:'],
  syslog: ['tcp:', 'tls:', 'relp:'],
  splunk: ['http:', 'https:'],
};

function invalid(spec: string, problem: string): AuditedExecError {
  return new AuditedExecError('CONFIG_INVALID', `--siem-sink "${spec}": ${problem}`);
}

/** One spec. `cwd` makes file paths absolute; `env` gives `*-env` secrets. */
export function parseSinkSpec(spec: string, o: { env: NodeJS.ProcessEnv; cwd: string }): SinkSpec {
  const pairs = new Map<string, string>();
  for (const part of spec.split(',')) {
    const at = part.indexOf('=');
    if (at <= 0) throw invalid(spec, `"${part}" is not key=value`);
    const key = part.slice(0, at).trim();
    if (pairs.has(key)) throw invalid(spec, `${key} is given twice`);
    pairs.set(key, part.slice(at + 1).trim());
  }
  const type = pairs.get('type');
  if (type !== 'webhook' && type !== 'syslog' && type !== 'splunk') {
    throw invalid(spec, 'type must be webhook, syslog or splunk');
  }
  const unknown = [...pairs.keys()].filter((k) => !COMMON_KEYS.includes(k) && !KEYS[type].includes(k));
  if (unknown.length) throw invalid(spec, `${unknown.join(', ')} is not a ${type} sink setting`);
  const common = commonSpec(spec, type, pairs, o.cwd);
  switch (type) {
    case 'webhook':
      return { ...common, type, secret: secretOf(spec, pairs, 'secret', o) };
    case 'syslog':
      return { ...common, type, ...clientCertOf(spec, pairs, o.cwd) };
    case 'splunk': {
      const index = pairs.get('index');
      return { ...common, type, token: secretOf(spec, pairs, 'token', o), ...(index ? { index } : {}) };
    }
  }
}

function commonSpec(spec: string, type: SinkType, pairs: Map<string, string>, cwd: string): CommonSpec {
  const url = pairs.get('url');
  let parsed: URL | undefined;
  try {
    parsed = url ? new URL(url) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!url || !parsed || !SCHEMES[type].includes(parsed.protocol)) {
    const want = SCHEMES[type].map((s) => `${s}//…`).join(' or ');
    throw invalid(spec, `url must be a ${want} URL`);
  }
  if (type === 'syslog' && !parsed.port) throw invalid(spec, 'a syslog url names its port (tcp://host:514)');
  const name = pairs.get('name') ?? type;
  if (!/^[a-z0-9][a-z0-9_-]{0,62}$/.test(name)) {
    throw invalid(
      spec,
      `name "${name}" must be lower-case letters, digits, - or _ (it names a metric label)`,
    );
  }
  const caFile = pairs.get('ca-file');
  return {
    name,
    url,
    batch: count(spec, pairs, 'batch', 200, 10_000),
    timeoutMs: count(spec, pairs, 'timeout', 10, 600) * 1000,
    retryMaxMs: count(spec, pairs, 'retry-max', 30, 3600) * 1000,
    ...(caFile ? { caFile: resolve(cwd, caFile) } : {}),
  };
}

/** A client certificate for a TLS receiver that asks for one (RFC 5425 mutual authentication). */
function clientCertOf(spec: string, pairs: Map<string, string>, cwd: string) {
  const certFile = pairs.get('cert-file');
  const keyFile = pairs.get('key-file');
  if ((certFile === undefined) !== (keyFile === undefined))
    throw invalid(spec, 'give cert-file and key-file together');
  if (certFile === undefined || keyFile === undefined) return {};
  if (!pairs.get('url')?.startsWith('tls:')) throw invalid(spec, 'a client certificate needs a tls:// url');
  return { clientCert: { certFile: resolve(cwd, certFile), keyFile: resolve(cwd, keyFile) } };
}

function count(spec: string, pairs: Map<string, string>, key: string, fallback: number, max: number): number {
  const v = pairs.get(key);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw invalid(spec, `${key} must be a whole number 1..${max}`);
  return n;
}

function secretOf(
  spec: string,
  pairs: Map<string, string>,
  what: 'secret' | 'token',
  o: { env: NodeJS.ProcessEnv; cwd: string },
): SecretRef {
  const file = pairs.get(`${what}-file`);
  const variable = pairs.get(`${what}-env`);
  if ((file === undefined) === (variable === undefined)) {
    throw invalid(spec, `give exactly one of ${what}-file or ${what}-env`);
  }
  if (file !== undefined) return { file: resolve(o.cwd, file) };
  const value = o.env[variable!];
  if (!value) throw invalid(spec, `the environment variable ${variable} is not set`);
  return { env: variable!, value };
}

/** Every spec, names unique. */
export function parseSinkSpecs(specs: readonly string[], o: { env: NodeJS.ProcessEnv; cwd: string }) {
  const sinks = specs.map((s) => parseSinkSpec(s, o));
  const names = sinks.map((s) => s.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) {
    throw new AuditedExecError(
      'CONFIG_INVALID',
      `--siem-sink: two sinks are named "${twice}"; give each a name=… of its own`,
    );
  }
  return sinks;
}

/** "256Mi", "1Gi", "500000" → bytes. */
export function parseSize(value: string, flag: string): number {
  const m = /^(\d+)(Ki|Mi|Gi)?$/.exec(value.trim());
  const n = m ? Number(m[1]) * { '': 1, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 }[m[2] ?? '']! : 0;
  if (!m || n < 64 * 1024) {
    throw new AuditedExecError(
      'CONFIG_INVALID',
      `${flag} "${value}" is not a size of 64Ki or more (e.g. 256Mi)`,
    );
  }
  return n;
}
