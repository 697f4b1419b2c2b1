// An authenticating proxy in front of the UI (oauth2-proxy and the like), configured by flags:
// its user headers are believed only from a client that presents a certificate from --client-ca
// whose name is in --trusted-proxy-names. Real recorder, real TLS client certificates (openssl),
// sandbox RBAC deciding what the proxied user sees.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSettings } from '../../server/config.ts';
import { createPki, type KeyPair } from '../sandbox/ca.ts';
import { type Sandbox, startSandbox } from '../sandbox/index.ts';
import { createExecSession, runStream } from '../server/client.ts';
import type { RawReply } from '../support/raw-https.ts';
import { type RecorderHandle, startRecorder } from '../support/recorder.ts';

describe('trusted proxy (--trusted-proxy-names) with real client certificates', () => {
  let dir: string;
  let sb: Sandbox;
  let rec: RecorderHandle;
  let proxy: KeyPair;
  let stranger: KeyPair;
  let forged: KeyPair;
  let sessionId: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'audited-exec-proxy-'));
    const pki = await createPki(join(dir, 'proxy-pki'));
    const caFile = join(dir, 'proxy-ca.crt');
    await writeFile(caFile, pki.caPem);
    proxy = await pki.issueClient('oauth2-proxy', []);
    stranger = await pki.issueClient('someone-else', []);
    // Same name, another CA: the webhook's client CA, which the listener trusts too (for the
    // apiserver's calls to /admission/validate), but not for users or proxies.
    const other = await createPki(join(dir, 'other-pki'));
    forged = await other.issueClient('oauth2-proxy', []);
    const otherCaFile = join(dir, 'admission-ca.crt');
    await writeFile(otherCaFile, other.caPem);
    const flags = parseSettings(
      [
        'node',
        'main',
        '--client-ca',
        caFile,
        '--admission-client-ca',
        otherCaFile,
        '--trusted-proxy-names',
        'oauth2-proxy',
      ],
      {},
    );
    sb = await startSandbox({ runtime: 'pty', log: () => {} });
    rec = await startRecorder({
      sandbox: sb,
      settings: {
        clientCaFile: flags.clientCaFile!,
        admissionClientCaFile: flags.admissionClientCaFile!,
        trustedProxy: flags.trustedProxy!,
      },
    });
    const created = await createExecSession(
      rec,
      { token: sb.tokens.alice! },
      { command: ['sh', '-c', 'echo proxied'] },
    );
    expect(created.status, created.text).toBe(201);
    expect((await runStream(rec, { token: sb.tokens.alice! }, created.body.streamPath)).exitCode).toBe(0);
    sessionId = created.body.id;
  }, 120_000);
  afterAll(async () => {
    await rec?.stop();
    await sb?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** GET as the proxy would forward it: with `cert` (or none) and the user headers it injects. */
  const get = (path: string, o: { cert?: KeyPair; headers?: Record<string, string> } = {}) =>
    new Promise<RawReply>((resolve, reject) => {
      const req = request(
        new URL(path, rec.url),
        {
          ca: rec.caPem,
          headers: o.headers ?? {},
          ...(o.cert ? { cert: o.cert.cert, key: o.cert.key } : {}),
        },
        (res) => {
          let body = '';
          res.on('data', (c: Buffer) => {
            body += c.toString();
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        },
      );
      req.on('error', reject);
      req.end();
    });
  const asOlivia = { 'X-Remote-User': 'olivia', 'X-Remote-Group': 'auditors' };

  it('believes the allowed proxy: the injected user and groups, and SAR on them', async () => {
    const page = await get('/ui/sessions', { cert: proxy, headers: asOlivia });
    expect(page.status).toBe(200);
    expect(page.body).toContain('olivia');
    expect(page.body).toContain(sessionId);
    // The same proxy for a user whose groups may not read sessions: signed in, the session hidden.
    const bob = await get('/ui/sessions', { cert: proxy, headers: { 'X-Remote-User': 'bob' } });
    expect(bob.status).toBe(200);
    expect(bob.body).toContain('bob');
    expect(bob.body).not.toContain(sessionId);
    expect(
      (await get(`/ui/sessions/${sessionId}`, { cert: proxy, headers: { 'X-Remote-User': 'bob' } })).status,
    ).toBe(403);
  });

  it('ignores the headers without a certificate', async () => {
    const page = await get('/ui/sessions', { headers: asOlivia });
    expect(page.status).toBe(303);
    expect(page.headers.location).toBe('/ui/login?next=%2Fui%2Fsessions');
  });

  it('ignores the headers with a certificate whose name is not allowed (it is only its own user)', async () => {
    const page = await get('/ui/sessions', { cert: stranger, headers: asOlivia });
    expect(page.status).toBe(200);
    expect(page.body).toContain('someone-else');
    expect(page.body).not.toContain('olivia');
    expect(page.body).not.toContain(sessionId);
  });

  it('ignores the headers with an allowed name from another CA the listener trusts (the webhook’s)', async () => {
    const page = await get('/ui/sessions', { cert: forged, headers: asOlivia });
    expect(page.status).toBe(303);
  });

  it('signs nobody in when the proxy sends no user', async () => {
    const page = await get('/ui/sessions', { cert: proxy, headers: { 'X-Remote-Group': 'auditors' } });
    expect(page.status).toBe(303);
  });
});
