import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiServerRequestOptions, credentialsFor, loadKubeconfig } from '../../../common/kubeconfig/load.ts';

let dir: string;
const file = (name: string, text: string, mode = 0o644) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  chmodSync(p, mode);
  return p;
};
const V1 = 'client.authentication.k8s.io/v1';
const b64 = (s: string) => Buffer.from(s).toString('base64');

// One context per user, all on one cluster, so each test picks a user with --context.
function kubeconfig(name: string, users: Record<string, unknown>, extra = ''): string {
  const names = Object.keys(users);
  return file(
    name,
    `apiVersion: v1
kind: Config
clusters:
- {name: c, cluster: {server: "https://127.0.0.1:6443/", certificate-authority: ca.crt, tls-server-name: api.local}}
contexts:
${names.map((n) => `- {name: ${n}, context: {cluster: c, user: ${n}}}`).join('\n')}
users:
${names.map((n) => `- name: ${n}\n  user: ${JSON.stringify(users[n])}`).join('\n')}
${extra}`,
  );
}

let main: string;
const as = (context: string, env: Record<string, string> = {}) =>
  loadKubeconfig({ kubeconfig: main, context, env: { PATH: process.env.PATH, ...env }, homeDir: dir });

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'plugin-kubeconfig-creds-'));
  file('ca.crt', 'CA');
  file('client.crt', 'FILE-CERT');
  file('client.key', 'FILE-KEY');
  file('token', '  spaced-token \n');
  file(
    'exec-plugin.sh',
    `#!/bin/sh
echo run >> "$COUNT"
printf '%s' "$KUBERNETES_EXEC_INFO" > "$INFO"
printf '{"apiVersion":"%s","kind":"ExecCredential","status":{"token":"exec-%s"%s}}' "$VERSION" "$GREETING" "$EXTRA"
`,
    0o755,
  );
  file(
    'exec-cert.sh',
    `#!/bin/sh\nprintf '{"apiVersion":"${V1}","kind":"ExecCredential","status":{"clientCertificateData":"PEM-CERT","clientKeyData":"PEM-KEY"}}'\n`,
    0o755,
  );
  file('exec-fail.sh', '#!/bin/sh\necho "login required" >&2\nexit 3\n', 0o755);
  const execUser = (greeting: string, extra: Record<string, unknown> = {}, version = V1) => ({
    exec: {
      apiVersion: version,
      command: './exec-plugin.sh',
      interactiveMode: 'IfAvailable',
      env: [
        { name: 'GREETING', value: greeting },
        { name: 'VERSION', value: version },
        { name: 'COUNT', value: join(dir, `count-${greeting}`) },
        { name: 'INFO', value: join(dir, `info-${greeting}`) },
      ],
      ...extra,
    },
  });
  main = kubeconfig(
    'main.yaml',
    {
      tokenfile: { tokenFile: 'token' },
      both: { token: 'inline', tokenFile: 'token' },
      missingtoken: { tokenFile: 'nope' },
      certfiles: { 'client-certificate': 'client.crt', 'client-key': 'client.key' },
      certdata: {
        'client-certificate': 'client.crt',
        'client-certificate-data': b64('DATA-CERT'),
        'client-key-data': b64('DATA-KEY'),
      },
      basic: { username: 'ann', password: 's3cret' },
      impersonating: { token: 't', as: 'root' },
      exec: execUser('hello'),
      execinfo: execUser('info', { provideClusterInfo: true }),
      execbeta: { exec: { ...execUser('beta', {}, `${V1}beta1`).exec, interactiveMode: undefined } },
      expired: execUser('expired'),
      execcert: { exec: { apiVersion: V1, command: './exec-cert.sh', interactiveMode: 'Never' } },
      execfail: { exec: { apiVersion: V1, command: './exec-fail.sh', interactiveMode: 'Never' } },
      execmissing: {
        exec: {
          apiVersion: V1,
          command: 'no-such-login-tool',
          interactiveMode: 'Never',
          installHint: 'Install it.',
        },
      },
      execwrongversion: { exec: { ...execUser('wrong').exec, apiVersion: `${V1}beta1` } },
      gcp: { 'auth-provider': { name: 'gcp', config: { 'access-token': 'gcp-token' } } },
      gcpexpired: {
        'auth-provider': { name: 'gcp', config: { 'access-token': 'old', expiry: '2000-01-01T00:00:00Z' } },
      },
    },
    'current-context: tokenfile\n',
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('kubeconfig merge and paths', () => {
  it('merges per name across files: the first file to define a cluster, user or current-context wins', () => {
    mkdirSync(join(dir, 'one'));
    mkdirSync(join(dir, 'two'));
    file('one/cert', 'ONE');
    file('two/cert', 'TWO');
    file('two/key', 'KEY2');
    const one = file(
      'one/config',
      `clusters:\n- {name: shared, cluster: {server: "https://one"}}\nusers:\n- {name: u, user: {client-certificate: cert, client-key: ../two/key}}\n`,
    );
    const two = file(
      'two/config',
      `current-context: ctx
contexts:
- {name: ctx, context: {cluster: shared, user: u, namespace: ns2}}
clusters:
- {name: shared, cluster: {server: "https://two"}}
users:
- {name: u, user: {client-certificate: cert, token: two-token}}
`,
    );
    const k = loadKubeconfig({ env: { KUBECONFIG: [one, two].join(delimiter) }, homeDir: dir });
    expect(k).toMatchObject({ context: 'ctx', namespace: 'ns2', apiServer: 'https://one' });
    // the whole user entry comes from the first file (no token), its paths relative to that file
    expect(k.user).toEqual({
      'client-certificate': join(dir, 'one/cert'),
      'client-key': join(dir, 'two/key'),
    });
  });

  it('resolves the cluster CA against the kubeconfig directory and sends TLS options to the apiserver only', async () => {
    const k = as('impersonating');
    expect(k.apiServer).toBe('https://127.0.0.1:6443');
    expect(await credentialsFor(k)).toEqual({ headers: { Authorization: 'Bearer t' } });
    expect(await apiServerRequestOptions(k)).toEqual({
      headers: { Authorization: 'Bearer t', 'Impersonate-User': 'root' },
      ca: Buffer.from('CA'),
      servername: 'api.local',
    });
  });

  it('treats an empty kubeconfig file as empty and a broken one as BAD_KUBECONFIG', () => {
    const empty = file('empty.yaml', '');
    const broken = file('broken.yaml', 'users: [\n');
    expect(loadKubeconfig({ env: { KUBECONFIG: [empty, main].join(delimiter) }, homeDir: dir }).context).toBe(
      'tokenfile',
    );
    expect(() => loadKubeconfig({ kubeconfig: broken, env: {}, homeDir: dir })).toThrow(
      expect.objectContaining({ code: 'BAD_KUBECONFIG', message: expect.stringContaining(broken) }),
    );
  });
});

describe('static credentials', () => {
  it('reads tokenFile trimmed; an inline token wins; a missing file is a CREDENTIALS error', async () => {
    expect((await credentialsFor(as('tokenfile'))).headers).toEqual({ Authorization: 'Bearer spaced-token' });
    expect((await credentialsFor(as('both'))).headers).toEqual({ Authorization: 'Bearer inline' });
    await expect(credentialsFor(as('missingtoken'))).rejects.toMatchObject({
      code: 'CREDENTIALS',
      message: expect.stringContaining(`cannot read tokenFile ${join(dir, 'nope')}`),
    });
  });

  it('reads client certificate files, and the -data fields win over files as in client-go', async () => {
    const files = await credentialsFor(as('certfiles'));
    expect([files.cert?.toString(), files.key?.toString()]).toEqual(['FILE-CERT', 'FILE-KEY']);
    const data = await credentialsFor(as('certdata'));
    expect([data.cert?.toString(), data.key?.toString()]).toEqual(['DATA-CERT', 'DATA-KEY']);
  });

  it('sends basic auth', async () => {
    expect((await credentialsFor(as('basic'))).headers.Authorization).toBe(`Basic ${b64('ann:s3cret')}`);
  });
});

describe('exec credential plugins', () => {
  it('runs the plugin with its env and KUBERNETES_EXEC_INFO, once per process while valid', async () => {
    const k = as('exec');
    expect(await credentialsFor(k)).toEqual({ headers: { Authorization: 'Bearer exec-hello' } });
    expect(await credentialsFor(k)).toEqual({ headers: { Authorization: 'Bearer exec-hello' } });
    expect(readFileSync(join(dir, 'count-hello'), 'utf8')).toBe('run\n');
    expect(JSON.parse(readFileSync(join(dir, 'info-hello'), 'utf8'))).toEqual({
      apiVersion: V1,
      kind: 'ExecCredential',
      spec: { interactive: false },
    });
  });

  it('sends the cluster when provideClusterInfo is set, and accepts v1beta1 without interactiveMode', async () => {
    await credentialsFor(as('execinfo'));
    expect(JSON.parse(readFileSync(join(dir, 'info-info'), 'utf8')).spec.cluster).toEqual({
      server: 'https://127.0.0.1:6443/',
      'tls-server-name': 'api.local',
      'certificate-authority-data': b64('CA'),
    });
    expect((await credentialsFor(as('execbeta'))).headers.Authorization).toBe('Bearer exec-beta');
  });

  it('runs the plugin again once the credential has expired', async () => {
    const k = as('expired', { EXTRA: ',"expirationTimestamp":"2000-01-01T00:00:00Z"' });
    await credentialsFor(k);
    await credentialsFor(k);
    expect(readFileSync(join(dir, 'count-expired'), 'utf8')).toBe('run\nrun\n');
  });

  it('uses a returned client certificate and key', async () => {
    const c = await credentialsFor(as('execcert'));
    expect([c.cert?.toString(), c.key?.toString(), c.headers]).toEqual(['PEM-CERT', 'PEM-KEY', {}]);
  });

  it('says clearly when the plugin fails, is missing or speaks another version', async () => {
    await expect(credentialsFor(as('execfail'))).rejects.toMatchObject({
      code: 'CREDENTIALS',
      message: `cannot get credentials for user "execfail" from the kubeconfig: exec: executable ${join(dir, 'exec-fail.sh')} failed with exit code 3`,
    });
    await expect(credentialsFor(as('execmissing'))).rejects.toMatchObject({
      code: 'CREDENTIALS',
      message: expect.stringContaining('exec: executable no-such-login-tool not found\n\nInstall it.'),
    });
    await expect(credentialsFor(as('execwrongversion'))).rejects.toMatchObject({
      code: 'CREDENTIALS',
      message: expect.stringContaining(
        `configured to use API version ${V1}beta1, plugin returned version ${V1}`,
      ),
    });
  });
});

describe('legacy auth-provider users', () => {
  it('go through client-node, loaded only for them', async () => {
    expect((await credentialsFor(as('gcp'))).headers).toEqual({ Authorization: 'Bearer gcp-token' });
    await expect(credentialsFor(as('gcpexpired'))).rejects.toMatchObject({
      code: 'CREDENTIALS',
      message: expect.stringContaining('Token is expired'),
    });
  });

  it('leave client-node unloaded for everyone else', () => {
    const script = `
      import { registerHooks } from 'node:module';
      const seen = [];
      registerHooks({ resolve: (s, c, next) => { const r = next(s, c); seen.push(r.url); return r; } });
      const { loadKubeconfig, credentialsFor } = await import(${JSON.stringify(new URL('../../../common/kubeconfig/load.ts', import.meta.url).href)});
      for (const context of ['tokenfile', 'certfiles', 'exec']) {
        await credentialsFor(loadKubeconfig({ kubeconfig: ${JSON.stringify(main)}, context, env: process.env, homeDir: '/' }));
      }
      console.log(JSON.stringify(seen.filter((u) => u.includes('client-node'))));
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual([]);
  });
});
