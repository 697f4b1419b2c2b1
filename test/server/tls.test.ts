// The recorder serves the certificate it is given (--tls-cert/--tls-key: a Secret several replicas
// share), and generates one into its data dir only when given none.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadTlsIdentity, serverIdentity } from '../../server/tls.ts';

describe('server identity', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tls-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('uses --tls-cert and --tls-key when given, and generates nothing', async () => {
    const shared = await loadTlsIdentity({ dataDir: join(dir, 'secret') });
    const replica = await serverIdentity({
      dataDir: join(dir, 'replica'),
      tlsCertFile: join(dir, 'secret', 'tls', 'server.crt'),
      tlsKeyFile: join(dir, 'secret', 'tls', 'server.key'),
    });
    expect(replica).toMatchObject({ generated: false, fingerprint: shared.fingerprint });
  });

  it('generates one into the data dir without them, and keeps it across restarts', async () => {
    const first = await serverIdentity({ dataDir: join(dir, 'own') });
    const again = await serverIdentity({ dataDir: join(dir, 'own') });
    expect(first.generated).toBe(true);
    expect(again).toMatchObject({ generated: false, fingerprint: first.fingerprint });
  });
});
