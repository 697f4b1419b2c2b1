// Flags and AUDITED_EXEC_* environment → the recorder's settings, once. Nothing else in server/
// reads process.env or argv: the core takes these settings.
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { AuditedExecError } from '../common/errors.ts';
import type { ClaimFlags } from './auth/oidc/claims.ts';
import { parseSinkSpecs, parseSize, type SinkSpec } from './siem/sink-spec.ts';

export interface Settings {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  /** PEM files; when both are absent a self-signed pair is generated into dataDir. */
  tlsCertFile?: string;
  tlsKeyFile?: string;
  dataDir: string;
  /** PEM bundle used to verify client certificates; default: the kubeconfig cluster's CA. */
  clientCaFile?: string;
  kubeconfig?: string;
  context?: string;
  policyFile?: string;
  /** How users reach this server (printed, used in links); default https://<listen>. */
  publicUrl?: string;
  /** A stream must be opened this long after its session was created. */
  streamTimeoutMs: number;
  /** How long a TokenReview answer is trusted. */
  tokenCacheMs: number;
  /** Ed25519 key (PKCS#8 PEM, mode 0600/0400) for evidence; default: generated into dataDir. */
  signingKeyFile?: string;
  /** Recordings older than this many days are deleted, except sessions on legal hold. */
  retentionDays?: number;
  /** Where debug-node pods are created; the admission webhook guards it too. */
  debugNamespace: string;
  /** Debug-node image when the user names none (kubectl debug requires --image; we default it). */
  debugImage: string;
  /** A debug pod whose container has not started by then ends its session with the pod's last reason. */
  debugPodTimeoutMs: number;
  /** Groups whose direct exec the admission webhook allows (and reports). */
  breakGlassGroups: string[];
  /** A browser session's token is checked again with TokenReview this often (revocation takes effect). */
  webSessionReviewMs: number;
  /** CA bundle of the apiserver's webhook client certificate; default: the client CA. */
  admissionClientCaFile?: string;
  /** Common names /admission/validate accepts from that CA; empty: any. */
  admissionClientNames: string[];
  /** The ConfigMap the admission policy reads open sessions from; null: not published. */
  admissionParams: { namespace: string; name: string } | null;
  /** Groups never impersonated (system:masters always is): their members cannot open sessions. */
  impersonationDeniedGroups: string[];
  /** postgres://… for state shared by several replicas; absent: the embedded SQLite in dataDir. */
  database?: string;
  /** Where finished recordings and evidence bundles go for every replica: s3://bucket/prefix or a
   *  directory (a shared volume); absent: they stay on this replica's data dir only. */
  objectStore?: string;
  /** S3 endpoint for a store that is not AWS (Ceph RGW, MinIO); its region. */
  s3Endpoint?: string;
  s3Region?: string;
  /** This replica's name among several (stable across restarts: a StatefulSet pod name). */
  replicaId: string;
  /** Where the other replicas reach this one; default https://<listen address>. */
  advertiseUrl?: string;
  /** On SIGTERM: how long open sessions may run on before they are ended (0: end them at once). */
  drainTimeoutMs: number;
  /** Where events are pushed (--siem-sink, siem/sink-spec.ts); empty: no SIEM export. */
  siemSinks: SinkSpec[];
  /** The SIEM spool's limit in bytes (<dataDir>/siem); beyond it the oldest events go. */
  siemSpoolBytes: number;
  /** Browser sign-in at an OpenID Connect provider; absent: token sign-in only. */
  oidc?: OidcSettings;
  /** An authenticating proxy in front of the UI (oauth2-proxy), known by its client certificate. */
  trustedProxy?: TrustedProxySettings;
}

/** The kube-apiserver's --oidc-* claim flags (auth/oidc/claims.ts) and the client's registration. */
export interface OidcSettings extends ClaimFlags {
  clientId: string;
  /** AUDITED_EXEC_OIDC_CLIENT_SECRET (never a flag: argv is readable by every local user) */
  clientSecret?: string;
  clientSecretFile?: string;
  /** PEM bundle the issuer's serving certificate chains to */
  caFile?: string;
  scopes: string[];
}

export interface TrustedProxySettings {
  /** client-certificate common names (chaining to --client-ca) whose headers are believed */
  names: string[];
  userHeader: string;
  groupsHeader: string;
}

export const DEFAULT_SETTINGS: Omit<Settings, 'dataDir'> & { dataDir: string } = {
  host: '0.0.0.0',
  port: 8443,
  dataDir: './data',
  streamTimeoutMs: 60_000,
  tokenCacheMs: 10_000,
  debugNamespace: 'audited-exec-debug',
  debugImage: 'busybox:1.36',
  debugPodTimeoutMs: 120_000,
  breakGlassGroups: ['audited-exec:break-glass'],
  webSessionReviewMs: 300_000,
  admissionClientNames: [],
  admissionParams: { namespace: 'audited-exec', name: 'audited-exec-sessions' },
  impersonationDeniedGroups: [],
  replicaId: hostname(),
  drainTimeoutMs: 0,
  siemSinks: [],
  siemSpoolBytes: 256 * 1024 * 1024,
};

export function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535) {
    throw new AuditedExecError('CONFIG_INVALID', `--listen "${value}" is not HOST:PORT (e.g. 0.0.0.0:8443)`);
  }
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

/**
 * argv is process.argv (node, script, ...flags); env is process.env. Flags win over env.
 * Relative paths are resolved against cwd so later chdir cannot move the data dir.
 */
export function parseSettings(argv: string[], env: NodeJS.ProcessEnv, cwd = process.cwd()): Settings {
  const program = new Command('audited-exec-server')
    .description(
      'Records kubectl audited-exec sessions: impersonated exec, asciicast recording, session store.',
    )
    .exitOverride();
  for (const [flags, help, variable] of FLAGS) program.addOption(opt(flags, help, env[variable]));
  program.addOption(
    new Option(
      '--siem-sink <spec>',
      'push events to a SIEM, repeatable: type=webhook|syslog|splunk,url=…,… (deploy/README.md); env AUDITED_EXEC_SIEM_SINKS, one per line',
    ).argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]),
  );
  program.parse(argv);
  const { siemSink, ...flags } = program.opts<Record<string, string | undefined> & { siemSink?: string[] }>();
  const specs =
    siemSink ??
    (env.AUDITED_EXEC_SIEM_SINKS ?? '')
      .split('\n')
      .map((s) => s.trim())
      .filter(Boolean);
  return {
    ...settingsFrom(flags, cwd),
    siemSinks: parseSinkSpecs(specs, { env, cwd }),
    ...defined({
      oidc: oidcFrom(flags, env.AUDITED_EXEC_OIDC_CLIENT_SECRET, cwd),
      trustedProxy: trustedProxyFrom(flags),
    }),
  };
}

/** Every flag: its spelling, its help, and the environment variable that sets it when it is absent. */
const FLAGS: [flags: string, help: string, env: string][] = [
  ['--listen <host:port>', 'address to listen on', 'AUDITED_EXEC_LISTEN'],
  ['--tls-cert <file>', 'server certificate (PEM)', 'AUDITED_EXEC_TLS_CERT'],
  ['--tls-key <file>', 'server private key (PEM)', 'AUDITED_EXEC_TLS_KEY'],
  ['--data-dir <dir>', 'database and recordings', 'AUDITED_EXEC_DATA_DIR'],
  ['--client-ca <file>', 'CA that signs client certificates', 'AUDITED_EXEC_CLIENT_CA'],
  ['--kubeconfig <file>', 'kubeconfig (else in-cluster, else default)', 'AUDITED_EXEC_KUBECONFIG'],
  ['--context <name>', 'kubeconfig context', 'AUDITED_EXEC_CONTEXT'],
  ['--policy <file>', 'policy file (YAML or JSON)', 'AUDITED_EXEC_POLICY'],
  ['--public-url <url>', 'URL users reach this server at', 'AUDITED_EXEC_PUBLIC_URL'],
  ['--signing-key <file>', 'Ed25519 evidence key (else generated)', 'AUDITED_EXEC_SIGNING_KEY'],
  ['--retention-days <n>', 'delete recordings older than n days', 'AUDITED_EXEC_RETENTION_DAYS'],
  ['--debug-namespace <ns>', 'namespace for debug-node pods', 'AUDITED_EXEC_DEBUG_NAMESPACE'],
  ['--debug-image <image>', 'default debug-node image', 'AUDITED_EXEC_DEBUG_IMAGE'],
  [
    '--debug-pod-timeout <seconds>',
    'how long a debug pod may take to start',
    'AUDITED_EXEC_DEBUG_POD_TIMEOUT',
  ],
  [
    '--break-glass-groups <list>',
    'comma-separated groups admission lets exec directly',
    'AUDITED_EXEC_BREAK_GLASS_GROUPS',
  ],
  [
    '--web-session-review <seconds>',
    "how often a browser session's token is checked again (default 300)",
    'AUDITED_EXEC_WEB_SESSION_REVIEW',
  ],
  [
    '--admission-client-ca <file>',
    "CA of the apiserver's webhook client certificate (default: --client-ca)",
    'AUDITED_EXEC_ADMISSION_CLIENT_CA',
  ],
  [
    '--admission-client-names <list>',
    'comma-separated certificate names accepted on /admission/validate (default: any from that CA)',
    'AUDITED_EXEC_ADMISSION_CLIENT_NAMES',
  ],
  [
    '--admission-params <namespace/name>',
    'ConfigMap the admission policy reads open sessions from, or "none"',
    'AUDITED_EXEC_ADMISSION_PARAMS',
  ],
  [
    '--deny-impersonation-groups <list>',
    'comma-separated groups never impersonated, besides system:masters',
    'AUDITED_EXEC_DENY_IMPERSONATION_GROUPS',
  ],
  [
    '--database <url>',
    'postgres://… shared by several replicas (default: SQLite in --data-dir)',
    'AUDITED_EXEC_DATABASE',
  ],
  [
    '--object-store <url>',
    's3://bucket/prefix or a shared directory for recordings and bundles (default: --data-dir only)',
    'AUDITED_EXEC_OBJECT_STORE',
  ],
  ['--s3-endpoint <url>', 'S3 endpoint other than AWS (Ceph RGW, MinIO)', 'AUDITED_EXEC_S3_ENDPOINT'],
  ['--s3-region <region>', 'S3 region (default us-east-1)', 'AUDITED_EXEC_S3_REGION'],
  ['--replica-id <name>', "this replica's name (default: the host name)", 'AUDITED_EXEC_REPLICA_ID'],
  [
    '--advertise-url <url>',
    'where the other replicas reach this one (default: https://<listen address>)',
    'AUDITED_EXEC_ADVERTISE_URL',
  ],
  [
    '--siem-spool-size <size>',
    'most disk the SIEM spool takes in --data-dir, e.g. 256Mi (default); beyond it the oldest events go',
    'AUDITED_EXEC_SIEM_SPOOL_SIZE',
  ],
  [
    '--drain-timeout <seconds>',
    'on SIGTERM, let open sessions run this long before ending them (default 0)',
    'AUDITED_EXEC_DRAIN_TIMEOUT',
  ],
  [
    '--oidc-issuer-url <url>',
    'OpenID Connect issuer for browser sign-in (https)',
    'AUDITED_EXEC_OIDC_ISSUER_URL',
  ],
  ['--oidc-client-id <id>', "the recorder's client id at the issuer", 'AUDITED_EXEC_OIDC_CLIENT_ID'],
  [
    '--oidc-client-secret-file <file>',
    'file holding the client secret (or AUDITED_EXEC_OIDC_CLIENT_SECRET)',
    'AUDITED_EXEC_OIDC_CLIENT_SECRET_FILE',
  ],
  [
    '--oidc-ca-file <file>',
    "CA of the issuer's certificate (default: system CAs)",
    'AUDITED_EXEC_OIDC_CA_FILE',
  ],
  [
    '--oidc-username-claim <claim>',
    "as the apiserver's flag (default sub)",
    'AUDITED_EXEC_OIDC_USERNAME_CLAIM',
  ],
  [
    '--oidc-username-prefix <prefix>',
    "as the apiserver's flag (default: issuer URL + '#' unless the claim is email; '-': none)",
    'AUDITED_EXEC_OIDC_USERNAME_PREFIX',
  ],
  [
    '--oidc-groups-claim <claim>',
    "as the apiserver's flag (default: no groups)",
    'AUDITED_EXEC_OIDC_GROUPS_CLAIM',
  ],
  [
    '--oidc-groups-prefix <prefix>',
    "as the apiserver's flag (default: none)",
    'AUDITED_EXEC_OIDC_GROUPS_PREFIX',
  ],
  [
    '--oidc-scopes <list>',
    'comma-separated scopes asked for (default openid,profile,email)',
    'AUDITED_EXEC_OIDC_SCOPES',
  ],
  [
    '--trusted-proxy-names <list>',
    'comma-separated client-certificate names (from --client-ca) of proxies whose user headers the UI believes',
    'AUDITED_EXEC_TRUSTED_PROXY_NAMES',
  ],
  [
    '--trusted-proxy-user-header <name>',
    "the proxy's user header (default X-Remote-User)",
    'AUDITED_EXEC_TRUSTED_PROXY_USER_HEADER',
  ],
  [
    '--trusted-proxy-groups-header <name>',
    "the proxy's groups header (default X-Remote-Group)",
    'AUDITED_EXEC_TRUSTED_PROXY_GROUPS_HEADER',
  ],
];

/** The parsed flags as settings: paths made absolute against cwd, numbers checked. */
function settingsFrom(o: Record<string, string | undefined>, cwd: string): Settings {
  const listen = o.listen
    ? parseListen(o.listen)
    : { host: DEFAULT_SETTINGS.host, port: DEFAULT_SETTINGS.port };
  if (Boolean(o.tlsCert) !== Boolean(o.tlsKey)) {
    throw new AuditedExecError('CONFIG_INVALID', '--tls-cert and --tls-key must be given together');
  }
  const path = (p: string | undefined) => (p ? resolve(cwd, p) : undefined);
  const retentionDays = positive(o.retentionDays, '--retention-days must be a positive number of days');
  const podTimeout = positive(o.debugPodTimeout, '--debug-pod-timeout must be a positive number of seconds');
  const review = positive(o.webSessionReview, '--web-session-review must be a positive number of seconds');
  const drain =
    o.drainTimeout === '0' ? 0 : positive(o.drainTimeout, '--drain-timeout must be seconds (0 or more)');
  return {
    ...DEFAULT_SETTINGS,
    ...listen,
    dataDir: resolve(cwd, o.dataDir ?? DEFAULT_SETTINGS.dataDir),
    ...defined({
      tlsCertFile: path(o.tlsCert),
      tlsKeyFile: path(o.tlsKey),
      clientCaFile: path(o.clientCa),
      kubeconfig: path(o.kubeconfig),
      context: o.context,
      policyFile: path(o.policy),
      publicUrl: o.publicUrl,
      signingKeyFile: path(o.signingKey),
      retentionDays,
      debugNamespace: o.debugNamespace,
      debugImage: o.debugImage,
      debugPodTimeoutMs: podTimeout === undefined ? undefined : podTimeout * 1000,
      webSessionReviewMs: review === undefined ? undefined : review * 1000,
      breakGlassGroups: list(o.breakGlassGroups),
      admissionClientCaFile: path(o.admissionClientCa),
      admissionClientNames: list(o.admissionClientNames),
      impersonationDeniedGroups: list(o.denyImpersonationGroups),
      database: checkedUrl(o.database, ['postgres:', 'postgresql:'], '--database'),
      objectStore: o.objectStore?.startsWith('s3://') ? o.objectStore : path(o.objectStore),
      s3Endpoint: checkedUrl(o.s3Endpoint, ['http:', 'https:'], '--s3-endpoint'),
      s3Region: o.s3Region,
      replicaId: o.replicaId,
      advertiseUrl: checkedUrl(o.advertiseUrl, ['https:'], '--advertise-url'),
      drainTimeoutMs: drain === undefined ? undefined : drain * 1000,
      siemSpoolBytes: o.siemSpoolSize ? parseSize(o.siemSpoolSize, '--siem-spool-size') : undefined,
    }),
    ...(o.admissionParams === undefined ? {} : { admissionParams: parseParamsRef(o.admissionParams) }),
  };
}

/** --oidc-*: absent without an issuer; an issuer needs a client id and an https --public-url
 *  (the redirect URI registered at the provider is <public URL>/ui/oidc/callback). */
function oidcFrom(
  o: Record<string, string | undefined>,
  envSecret: string | undefined,
  cwd: string,
): OidcSettings | undefined {
  const issuerUrl = checkedUrl(o.oidcIssuerUrl, ['https:'], '--oidc-issuer-url');
  if (!issuerUrl) {
    const stray = Object.keys(o).find((k) => k.startsWith('oidc') && o[k] !== undefined);
    if (stray) throw new AuditedExecError('CONFIG_INVALID', 'the --oidc-* flags need --oidc-issuer-url');
    return undefined;
  }
  if (!o.oidcClientId) {
    throw new AuditedExecError('CONFIG_INVALID', '--oidc-issuer-url needs --oidc-client-id');
  }
  if (!checkedUrl(o.publicUrl, ['https:'], '--public-url')) {
    throw new AuditedExecError(
      'CONFIG_INVALID',
      '--oidc-issuer-url needs --public-url (https): the redirect URI is <public URL>/ui/oidc/callback',
    );
  }
  if (o.oidcClientSecretFile && envSecret) {
    throw new AuditedExecError(
      'CONFIG_INVALID',
      'give the client secret once: --oidc-client-secret-file or AUDITED_EXEC_OIDC_CLIENT_SECRET',
    );
  }
  return {
    // The apiserver compares the issuer exactly; so does the client (no trailing-slash folding).
    issuerUrl,
    clientId: o.oidcClientId,
    usernameClaim: o.oidcUsernameClaim ?? 'sub',
    scopes: list(o.oidcScopes) ?? ['openid', 'profile', 'email'],
    ...defined({
      clientSecret: envSecret,
      clientSecretFile: o.oidcClientSecretFile ? resolve(cwd, o.oidcClientSecretFile) : undefined,
      caFile: o.oidcCaFile ? resolve(cwd, o.oidcCaFile) : undefined,
      usernamePrefix: o.oidcUsernamePrefix,
      groupsClaim: o.oidcGroupsClaim,
      groupsPrefix: o.oidcGroupsPrefix,
    }),
  };
}

/** --trusted-proxy-*: the proxy proves itself with a client certificate from --client-ca only. */
function trustedProxyFrom(o: Record<string, string | undefined>): TrustedProxySettings | undefined {
  const names = list(o.trustedProxyNames) ?? [];
  if (names.length === 0) {
    if (o.trustedProxyUserHeader || o.trustedProxyGroupsHeader) {
      throw new AuditedExecError(
        'CONFIG_INVALID',
        'the --trusted-proxy-*-header flags need --trusted-proxy-names',
      );
    }
    return undefined;
  }
  if (!o.clientCa) {
    throw new AuditedExecError(
      'CONFIG_INVALID',
      "--trusted-proxy-names needs --client-ca: the CA that signs the proxy's client certificate",
    );
  }
  const header = (value: string | undefined, fallback: string, flag: string) => {
    const h = value ?? fallback;
    if (!/^[A-Za-z0-9-]+$/.test(h))
      throw new AuditedExecError('CONFIG_INVALID', `${flag} "${h}" is not a header name`);
    return h.toLowerCase();
  };
  return {
    names,
    userHeader: header(o.trustedProxyUserHeader, 'X-Remote-User', '--trusted-proxy-user-header'),
    groupsHeader: header(o.trustedProxyGroupsHeader, 'X-Remote-Group', '--trusted-proxy-groups-header'),
  };
}

/** A flag's positive number, undefined when absent; `problem` when it is anything else. */
function positive(value: string | undefined, problem: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!(Number.isFinite(n) && n > 0)) throw new AuditedExecError('CONFIG_INVALID', problem);
  return n;
}

/** A URL flag of one of the given schemes, undefined when absent. */
function checkedUrl(value: string | undefined, schemes: string[], flag: string): string | undefined {
  if (value === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || !schemes.includes(url.protocol)) {
    const want = schemes.map((s) => `${s}//…`).join(' or ');
    throw new AuditedExecError('CONFIG_INVALID', `${flag} "${value}" is not a ${want} URL`);
  }
  return value;
}

function list(value: string | undefined): string[] | undefined {
  return value
    ?.split(',')
    .map((g) => g.trim())
    .filter(Boolean);
}

/** "namespace/name", or "none" (the policy variant is not installed). */
export function parseParamsRef(value: string): { namespace: string; name: string } | null {
  if (value === 'none') return null;
  const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-.a-z0-9]*[a-z0-9])?)$/.exec(value);
  if (!m) {
    throw new AuditedExecError(
      'CONFIG_INVALID',
      `--admission-params "${value}" is not NAMESPACE/NAME of a ConfigMap (or "none")`,
    );
  }
  return { namespace: m[1]!, name: m[3]! };
}

function opt(flags: string, description: string, envValue: string | undefined): Option {
  const option = new Option(flags, description);
  return envValue ? option.default(envValue) : option;
}

/** Drops undefined values so optional settings stay absent (exactOptionalPropertyTypes-friendly). */
export function defined<T extends Record<string, unknown>>(
  o: T,
): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as never;
}
