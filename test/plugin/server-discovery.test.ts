import { describe, expect, it } from 'vitest';
import { discoverServer, type PluginConfigMap } from '../../plugin/server-discovery.ts';

function configMap(data: PluginConfigMap | null) {
  let reads = 0;
  return {
    read: async () => {
      reads++;
      return data;
    },
    get reads() {
      return reads;
    },
  };
}

describe('discoverServer', () => {
  it('takes --server first, without reading the ConfigMap', async () => {
    const cm = configMap({ server: 'https://cm.example' });
    const e = await discoverServer({
      server: 'https://flag.example:8443/',
      env: { AUDITED_EXEC_SERVER: 'https://env.example' },
      readConfigMap: cm.read,
    });
    expect(e).toMatchObject({
      url: 'https://flag.example:8443',
      source: 'flag',
      insecureSkipTlsVerify: false,
    });
    expect(e.ca).toBeUndefined();
    expect(cm.reads).toBe(0);
  });

  it('then AUDITED_EXEC_SERVER, with AUDITED_EXEC_SERVER_CA unless --server-ca', async () => {
    const cm = configMap(null);
    const env = { AUDITED_EXEC_SERVER: 'https://env.example', AUDITED_EXEC_SERVER_CA: '/env/ca.pem' };
    expect(await discoverServer({ env, readConfigMap: cm.read })).toMatchObject({
      url: 'https://env.example',
      source: 'env',
      ca: { file: '/env/ca.pem', from: 'env' },
    });
    expect(await discoverServer({ env, serverCa: '/flag/ca.pem', readConfigMap: cm.read })).toMatchObject({
      ca: { file: '/flag/ca.pem', from: 'flag' },
    });
    expect(cm.reads).toBe(0);
  });

  it('then the ConfigMap, whose ca.crt counts only below the flag and the environment', async () => {
    const cm = configMap({ server: 'https://cm.example', 'ca.crt': 'PEM' });
    expect(await discoverServer({ env: {}, readConfigMap: cm.read })).toMatchObject({
      url: 'https://cm.example',
      source: 'configmap',
      ca: { pem: 'PEM', from: 'configmap' },
    });
    expect(
      await discoverServer({ env: { AUDITED_EXEC_SERVER_CA: '/e.pem' }, readConfigMap: cm.read }),
    ).toMatchObject({ ca: { file: '/e.pem' } });
  });

  it('a ConfigMap CA does not apply to a server named elsewhere', async () => {
    const cm = configMap({ server: 'https://cm.example', 'ca.crt': 'PEM' });
    const e = await discoverServer({ server: 'https://x.example', env: {}, readConfigMap: cm.read });
    expect(e.ca).toBeUndefined();
  });

  it('passes --insecure-skip-tls-verify through and refuses a non-URL', async () => {
    const cm = configMap(null);
    expect(
      await discoverServer({
        server: 'https://x',
        insecureSkipTlsVerify: true,
        env: {},
        readConfigMap: cm.read,
      }),
    ).toMatchObject({ insecureSkipTlsVerify: true });
    await expect(
      discoverServer({ server: 'x.example:443', env: {}, readConfigMap: cm.read }),
    ).rejects.toThrow(/--server must be an https:\/\/ URL|--server is not a URL/);
  });

  it('says all three places when none names the recorder', async () => {
    await expect(discoverServer({ env: {}, readConfigMap: configMap(null).read })).rejects.toThrow(
      /pass --server URL, set AUDITED_EXEC_SERVER, or .*ConfigMap audited-exec-plugin .*namespace audited-exec/,
    );
    await expect(discoverServer({ env: {}, readConfigMap: configMap({}).read })).rejects.toMatchObject({
      code: 'NO_SERVER',
    });
  });
});
