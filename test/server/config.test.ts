import { describe, expect, it } from 'vitest';
import { parseListen, parseSettings } from '../../server/config.ts';

describe('config', () => {
  it('uses defaults, then env, then flags', () => {
    expect(parseSettings(['node', 'main'], {}, '/srv')).toMatchObject({
      host: '0.0.0.0',
      port: 8443,
      dataDir: '/srv/data',
    });
    const env = {
      AUDITED_EXEC_LISTEN: '127.0.0.1:9000',
      AUDITED_EXEC_DATA_DIR: '/var/lib/ae',
      AUDITED_EXEC_POLICY: 'p.yaml',
    };
    expect(parseSettings(['node', 'main'], env, '/srv')).toMatchObject({
      port: 9000,
      dataDir: '/var/lib/ae',
      policyFile: '/srv/p.yaml',
    });
    expect(
      parseSettings(['node', 'main', '--listen', '[::1]:0', '--context', 'kind'], env, '/srv'),
    ).toMatchObject({ host: '::1', port: 0, context: 'kind' });
  });
  it('rejects what it cannot use', () => {
    expect(() => parseListen('8443')).toThrow(/HOST:PORT/);
    expect(() => parseSettings(['node', 'main', '--tls-cert', 'a.pem'], {})).toThrow(/together/);
  });

  it('replicas: database, object store, replica id, advertise URL and drain timeout', () => {
    const one = parseSettings(['node', 'main'], {}, '/srv');
    expect(one).toMatchObject({ drainTimeoutMs: 0 });
    expect(one.replicaId).toBeTruthy();
    expect(one.database).toBeUndefined();
    const s = parseSettings(
      [
        'node',
        'main',
        '--database',
        'postgres://app@db:5432/ae',
        '--object-store',
        'shared',
        '--replica-id',
        'recorder-1',
        '--advertise-url',
        'https://10.0.0.7:8443',
        '--drain-timeout',
        '600',
      ],
      { AUDITED_EXEC_S3_REGION: 'eu-west-1' },
      '/srv',
    );
    expect(s).toMatchObject({
      database: 'postgres://app@db:5432/ae',
      objectStore: '/srv/shared',
      replicaId: 'recorder-1',
      advertiseUrl: 'https://10.0.0.7:8443',
      drainTimeoutMs: 600_000,
      s3Region: 'eu-west-1',
    });
    expect(parseSettings(['node', 'main', '--object-store', 's3://bucket/p'], {}).objectStore).toBe(
      's3://bucket/p',
    );
    expect(() => parseSettings(['node', 'main', '--database', 'mysql://x'], {})).toThrow(
      /--database .* postgres:/,
    );
    expect(() => parseSettings(['node', 'main', '--advertise-url', 'http://x'], {})).toThrow(/https:/);
    expect(() => parseSettings(['node', 'main', '--drain-timeout', '-1'], {})).toThrow(/--drain-timeout/);
  });

  it('admission: params ConfigMap by default, "none" turns it off, client CA and denylist', () => {
    expect(parseSettings(['node', 'main'], {}, '/srv')).toMatchObject({
      admissionParams: { namespace: 'audited-exec', name: 'audited-exec-sessions' },
      admissionClientNames: [],
      impersonationDeniedGroups: [],
    });
    const s = parseSettings(
      ['node', 'main', '--admission-params', 'none', '--admission-client-ca', 'ca.pem'],
      {
        AUDITED_EXEC_DENY_IMPERSONATION_GROUPS: 'root-ish, ops-admins',
        AUDITED_EXEC_ADMISSION_CLIENT_NAMES: 'kube-apiserver',
      },
      '/srv',
    );
    expect(s).toMatchObject({
      admissionParams: null,
      admissionClientCaFile: '/srv/ca.pem',
      admissionClientNames: ['kube-apiserver'],
      impersonationDeniedGroups: ['root-ish', 'ops-admins'],
    });
    expect(() => parseSettings(['node', 'main', '--admission-params', 'just-a-name'], {})).toThrow(
      /NAMESPACE\/NAME/,
    );
  });

  it('OIDC: the issuer needs a client id and an https public URL; prefixes stay as given', () => {
    const base = ['node', 'main', '--oidc-issuer-url', 'https://idp.example.com', '--oidc-client-id', 'ae'];
    const s = parseSettings(
      [
        ...base,
        '--public-url',
        'https://rec.example.com',
        '--oidc-client-secret-file',
        'secret',
        '--oidc-groups-claim',
        'groups',
      ],
      {},
      '/srv',
    );
    expect(s.oidc).toEqual({
      issuerUrl: 'https://idp.example.com',
      clientId: 'ae',
      clientSecretFile: '/srv/secret',
      usernameClaim: 'sub',
      groupsClaim: 'groups',
      scopes: ['openid', 'profile', 'email'],
    });
    // From the environment, the secret too (never as a flag).
    const env = {
      AUDITED_EXEC_OIDC_ISSUER_URL: 'https://idp.example.com',
      AUDITED_EXEC_OIDC_CLIENT_ID: 'ae',
      AUDITED_EXEC_OIDC_CLIENT_SECRET: 's3cret',
      AUDITED_EXEC_OIDC_USERNAME_PREFIX: '-',
      AUDITED_EXEC_PUBLIC_URL: 'https://rec.example.com',
    };
    expect(parseSettings(['node', 'main'], env).oidc).toMatchObject({
      clientSecret: 's3cret',
      usernamePrefix: '-',
    });
    expect(parseSettings(['node', 'main'], {}).oidc).toBeUndefined();
    expect(() => parseSettings(base, {})).toThrow(/--public-url/);
    expect(() => parseSettings([...base, '--public-url', 'http://rec.example.com'], {})).toThrow(
      /--public-url/,
    );
    expect(() => parseSettings(['node', 'main', '--oidc-issuer-url', 'https://idp.example.com'], {})).toThrow(
      /--oidc-client-id/,
    );
    expect(() => parseSettings(['node', 'main', '--oidc-issuer-url', 'http://idp.example.com'], {})).toThrow(
      /https/,
    );
    expect(() => parseSettings(['node', 'main', '--oidc-client-id', 'ae'], {})).toThrow(/--oidc-issuer-url/);
    expect(() =>
      parseSettings([...base, '--public-url', 'https://r.example', '--oidc-client-secret-file', 'f'], {
        AUDITED_EXEC_OIDC_CLIENT_SECRET: 'x',
      }),
    ).toThrow(/once/);
  });

  it('trusted proxy: names need --client-ca; headers default to the apiserver’s X-Remote-*', () => {
    expect(parseSettings(['node', 'main'], {}).trustedProxy).toBeUndefined();
    const s = parseSettings(
      ['node', 'main', '--client-ca', 'ca.pem', '--trusted-proxy-names', 'oauth2-proxy, other'],
      {},
      '/srv',
    );
    expect(s.trustedProxy).toEqual({
      names: ['oauth2-proxy', 'other'],
      userHeader: 'x-remote-user',
      groupsHeader: 'x-remote-group',
    });
    const custom = parseSettings(
      [
        'node',
        'main',
        '--client-ca',
        'ca.pem',
        '--trusted-proxy-names',
        'p',
        '--trusted-proxy-user-header',
        'X-Forwarded-User',
        '--trusted-proxy-groups-header',
        'X-Forwarded-Groups',
      ],
      {},
    );
    expect(custom.trustedProxy).toMatchObject({
      userHeader: 'x-forwarded-user',
      groupsHeader: 'x-forwarded-groups',
    });
    expect(() => parseSettings(['node', 'main', '--trusted-proxy-names', 'p'], {})).toThrow(/--client-ca/);
    expect(() => parseSettings(['node', 'main', '--trusted-proxy-user-header', 'X-U'], {})).toThrow(
      /--trusted-proxy-names/,
    );
    expect(() =>
      parseSettings(
        [
          'node',
          'main',
          '--client-ca',
          'c',
          '--trusted-proxy-names',
          'p',
          '--trusted-proxy-user-header',
          'a b',
        ],
        {},
      ),
    ).toThrow(/header name/);
  });
});
