// The REST handlers mounted on a real HTTP server (port 0) with the file-backed signature store,
// and the plugin's export/verify subcommands run through commander against it. plugin/main.ts
// does not register verify/export yet, so the commands are built with createProgram + register.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTar, readTarGz } from '../../common/evidence/tar.ts';
import { verifyBundle } from '../../common/evidence/verify.ts';
import { type CliContext, createProgram } from '../../plugin/cli.ts';
import { register as registerExport } from '../../plugin/export.ts';
import { register as registerVerify, VERIFY_EXIT } from '../../plugin/verify.ts';
import { createEvidence } from '../../server/evidence/evidence.ts';
import {
  type EvidenceRouteContext,
  getBulkExport,
  getEvidence,
  getSigningKey,
  putLegalHold,
} from '../../server/evidence/routes.ts';
import { loadSigningKey, type SigningKey } from '../../server/evidence/signing-key.ts';
import { createFileSignatureStore } from '../../server/evidence/store.ts';
import { loadTlsIdentity } from '../../server/tls.ts';
import {
  fakePlayer,
  memoryStore,
  OTHER_ID,
  otherRecording,
  recording,
  SESSION_ID,
  sessionRecord,
  shimEvents,
} from './fixture.ts';

const tmp = mkdtempSync(join(tmpdir(), 'evidence-http-'));
const RUNNING_ID = '11111111-2222-4333-8444-555555555555';
let server: Server;
let base: string;
let key: SigningKey;
const store = { ...memoryStore(), ...createFileSignatureStore({ dir: join(tmp, 'evidence') }) };
const sessions = memoryStore().sessions;

beforeAll(async () => {
  key = await loadSigningKey({ dataDir: join(tmp, 'data') });
  sessions.set(SESSION_ID, sessionRecord());
  sessions.set(OTHER_ID, sessionRecord({ id: OTHER_ID, auditId: OTHER_ID, user: 'bob', command: ['uname'] }));
  sessions.set(RUNNING_ID, sessionRecord({ id: RUNNING_ID, state: 'running', endedAt: undefined }));
  const recordings = new Map([
    [SESSION_ID, recording],
    [OTHER_ID, otherRecording],
  ]);
  Object.assign(store, {
    getSession: async (id: string) => sessions.get(id) ?? null,
    openRecording: async (id: string) => {
      const bytes = recordings.get(id);
      return bytes ? new Blob([bytes as Uint8Array<ArrayBuffer>]) : null;
    },
    listEvents: async (id: string) => (id === SESSION_ID ? shimEvents : []),
  });
  const ctx: Omit<EvidenceRouteContext, 'params'> = {
    evidence: createEvidence({ store, key, player: fakePlayer }),
    key,
    // The server's real authorizer asks RBAC; here the token says who may do what.
    authorize: async (req, { action }) => {
      const token = req.headers.authorization ?? '';
      return {
        allowed: token === 'Bearer auditor' || (action === 'evidence:read' && token !== ''),
        user: token.slice(7),
      };
    },
    setLegalHold: async (id, hold) => {
      const s = sessions.get(id);
      if (!s) return null;
      sessions.set(id, { ...s, legalHold: hold });
      return sessions.get(id)!;
    },
    listSessions: async (q) =>
      [...sessions.values()].filter((s) => !q.get('user') || s.user === q.get('user')),
  };
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const m = /^\/api\/v1\/sessions\/([^/]+)\/(evidence|legal-hold)$/.exec(url.pathname);
    if (url.pathname === '/.well-known/audited-exec/signing-key')
      return getSigningKey(req, res, { ...ctx, params: {} });
    if (url.pathname === '/api/v1/evidence') return getBulkExport(req, res, { ...ctx, params: {} });
    if (m?.[2] === 'evidence' && req.method === 'GET')
      return getEvidence(req, res, { ...ctx, params: { id: m[1] } });
    if (m?.[2] === 'legal-hold' && req.method === 'PUT')
      return putLegalHold(req, res, { ...ctx, params: { id: m[1] } });
    // Stand-in for the server's own list endpoint (not part of evidence).
    if (url.pathname === '/api/v1/sessions') {
      const items = [...sessions.values()].filter(
        (s) =>
          (!url.searchParams.get('user') || s.user === url.searchParams.get('user')) &&
          (!url.searchParams.get('namespace') || s.namespace === url.searchParams.get('namespace')),
      );
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ items }));
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  writeFileSync(
    join(tmp, 'kubeconfig'),
    `apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters: [{name: k, cluster: {server: "https://127.0.0.1:1"}}]\n` +
      `users: [{name: u, user: {token: auditor}}]\ncontexts: [{name: c, context: {cluster: k, user: u, namespace: payments}}]\n`,
  );
});

afterAll(async () => {
  await new Promise((r) => server?.close(r));
  rmSync(tmp, { recursive: true, force: true });
});

describe('evidence REST handlers', () => {
  it('serves the public key and fingerprint without credentials', async () => {
    const res = await fetch(`${base}/.well-known/audited-exec/signing-key`);
    expect(await res.json()).toEqual({
      algorithm: 'Ed25519',
      publicKeyPem: key.publicKeyPem,
      fingerprint: key.fingerprint,
    });
  });

  it('serves a bundle that verifies against the published key', async () => {
    const res = await fetch(`${base}/api/v1/sessions/${SESSION_ID}/evidence`, {
      headers: { authorization: 'Bearer alice' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toBe(
      `attachment; filename="audited-exec-${SESSION_ID}.tar.gz"`,
    );
    const files = readTarGz(new Uint8Array(await res.arrayBuffer()));
    expect(verifyBundle(files, { publicKeyPem: key.publicKeyPem })).toMatchObject({
      ok: true,
      chainLength: 1,
    });
  });

  it('answers Status objects: 409 while running, 400 for a bad id, 403 unauthorised', async () => {
    const auth = { headers: { authorization: 'Bearer alice' } };
    const running = await fetch(`${base}/api/v1/sessions/${RUNNING_ID}/evidence`, auth);
    expect(running.status).toBe(409);
    expect(await running.json()).toMatchObject({
      kind: 'Status',
      code: 409,
      message: expect.stringMatching(/still running/),
    });
    expect((await fetch(`${base}/api/v1/sessions/nope/evidence`, auth)).status).toBe(400);
    const anonymous = await fetch(`${base}/api/v1/sessions/${SESSION_ID}/evidence`);
    expect(anonymous.status).toBe(403);
    // A sentence the user can act on, never the action's internal name.
    expect((await anonymous.json()).message).toBe(
      `you may not read the evidence of session ${SESSION_ID} (it needs get on sessions.audited-exec.io)`,
    );
  });

  it('sets a legal hold only for an authorised caller', async () => {
    const put = (token: string, body: unknown) =>
      fetch(`${base}/api/v1/sessions/${OTHER_ID}/legal-hold`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const denied = await put('alice', { legalHold: true });
    expect(denied.status).toBe(403);
    expect((await denied.json()).message).toMatch(
      new RegExp(`may not set or lift the legal hold on session ${OTHER_ID} \\(it needs update on sessions`),
    );
    expect(sessions.get(OTHER_ID)!.legalHold).toBeUndefined();
    expect((await put('auditor', { legalHold: 'yes' })).status).toBe(400);
    const ok = await put('auditor', { legalHold: true });
    expect(await ok.json()).toEqual({ id: OTHER_ID, legalHold: true });
    expect(sessions.get(OTHER_ID)!.legalHold).toBe(true);
  });

  it('bulk-exports a tar of bundles with an index naming what was skipped', async () => {
    const res = await fetch(`${base}/api/v1/evidence`, { headers: { authorization: 'Bearer auditor' } });
    const tar = readTar(new Uint8Array(await res.arrayBuffer()));
    expect([...tar.keys()].sort()).toEqual([`${SESSION_ID}.tar.gz`, `${OTHER_ID}.tar.gz`, 'index.json']);
    const index = JSON.parse(new TextDecoder().decode(tar.get('index.json')));
    expect(index).toContainEqual({ id: RUNNING_ID, skipped: expect.stringMatching(/still running/) });
    expect(verifyBundle(readTarGz(tar.get(`${OTHER_ID}.tar.gz`)!)).ok).toBe(true);
  });
});

async function cli(...argv: string[]) {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (c) => (stdout += c));
  err.on('data', (c) => (stderr += c));
  const ctx: CliContext = {
    stdin: new PassThrough(),
    stdout: out,
    stderr: err,
    env: {},
    homeDir: tmp,
    dashArgs: null,
    exitCode: 0,
  };
  const program = createProgram(ctx);
  registerVerify(program, ctx);
  registerExport(program, ctx);
  let thrown: unknown;
  try {
    const server = argv.includes('--server') ? [] : ['--server', base];
    await program.parseAsync([...argv, '--kubeconfig', join(tmp, 'kubeconfig'), ...server], {
      from: 'user',
    });
  } catch (e) {
    thrown = e;
  }
  return { code: ctx.exitCode, stdout, stderr, thrown };
}

describe('kubectl audited-exec export / verify', () => {
  it('exports one bundle and verifies it against the recorder fingerprint', async () => {
    const file = join(tmp, 'one.tar.gz');
    const exp = await cli('export', SESSION_ID, '-o', file);
    expect(exp.thrown).toBeUndefined();
    expect(exp.stderr).toMatch(/^wrote .*one\.tar\.gz \(\d+\.\d KiB\); self-consistent, signed by SHA256:/);
    const ok = await cli('verify', file, '--fingerprint', key.fingerprint);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`session:   ${SESSION_ID} (exec, ended)`);
    expect(ok.stdout).toContain(
      'user:      alice@example.com (impersonated by system:serviceaccount:audited-exec:recorder)',
    );
    expect(ok.stdout).toContain('target:    payments/api-7d9f8c-x2x9q (api)');
    expect(ok.stdout).toContain('commands:  7 attributed, 1 alerts');
    expect(ok.stdout).toContain(`signer:    ${key.fingerprint}`);
    expect(ok.stdout).toContain('result:    OK, signed by the expected key (--fingerprint)');
    // --server is plain http here: its key pins nothing.
    const self = await cli('verify', file);
    expect(self.code).toBe(VERIFY_EXIT.unverifiedSigner);
    expect(self.stdout).toContain(
      'result:    UNVERIFIED SIGNER: self-consistent only; pin the signer with --key, --fingerprint or --server',
    );
    expect(self.stderr).toMatch(
      /UNVERIFIED SIGNER: .* the connection to http:\/\/127\.0\.0\.1:\d+ is not https/,
    );
    const wrong = await cli(
      'verify',
      file,
      '--fingerprint',
      'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    );
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('signature: not signed by the expected key (fingerprint SHA256:AAAA');
    const keyFile = join(tmp, 'key.pem');
    writeFileSync(keyFile, key.publicKeyPem);
    expect((await cli('verify', file, '--key', keyFile)).code).toBe(0);
  });

  it('names the failing file for a tampered bundle', async () => {
    const file = join(tmp, 'one.tar.gz');
    const files = readTarGz(new Uint8Array(readFileSync(file)));
    const cast = files.get('recording.cast')!;
    cast[40] = cast[40]! ^ 1;
    const { writeTarGz } = await import('../../common/evidence/tar.ts');
    writeFileSync(join(tmp, 'bad.tar.gz'), writeTarGz(files));
    const bad = await cli('verify', join(tmp, 'bad.tar.gz'));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(
      /verification FAILED\n {2}recording\.cast: sha256 mismatch \(manifest says [0-9a-f]{64}, file is [0-9a-f]{64}\)/,
    );
    const garbage = join(tmp, 'garbage.tar.gz');
    writeFileSync(garbage, 'not a bundle');
    const unreadable = await cli('verify', garbage, '--fingerprint', key.fingerprint);
    expect(unreadable.code).toBe(VERIFY_EXIT.failed);
    expect(unreadable.stderr).toMatch(/garbage\.tar\.gz: bundle: not a readable \.tar\.gz/);
  });

  it('exits non-zero for a bundle edited and re-signed with a key of its own, unless pinned and signed', async () => {
    // The forger's bundle: session.json says bob, everything re-signed with a fresh key that the
    // bundle carries in public-key.pem: self-consistent, and nothing else.
    const mallory = await loadSigningKey({ dataDir: join(tmp, 'mallory') });
    const forgedStore = {
      ...store,
      getSession: async (id: string) => (id === SESSION_ID ? { ...sessionRecord(), user: 'bob' } : null),
      ...createFileSignatureStore({ dir: join(tmp, 'mallory-evidence') }),
    };
    const forged = join(tmp, 'forged.tar.gz');
    const blob = await createEvidence({ store: forgedStore, key: mallory, player: fakePlayer }).bundle(
      SESSION_ID,
    );
    writeFileSync(forged, new Uint8Array(await blob.arrayBuffer()));
    const genuine = join(tmp, 'one.tar.gz');

    const unpinned = await cli(
      'verify',
      forged,
      '--server',
      'https://127.0.0.1:1',
      '--insecure-skip-tls-verify',
    );
    expect(unpinned.code).toBe(VERIFY_EXIT.unverifiedSigner);
    expect(unpinned.stdout).toContain('user:      bob');
    expect(unpinned.stderr).toContain(
      `UNVERIFIED SIGNER: intact and self-consistent, but signed by ${mallory.fingerprint}`,
    );
    expect(unpinned.stderr).toContain('was not verified (--insecure-skip-tls-verify)');
    expect((await cli('verify', forged, '--fingerprint', key.fingerprint)).code).toBe(VERIFY_EXIT.failed);

    // The recorder's published key, fetched over verified TLS, pins the signer.
    const tls = await loadTlsIdentity({ dataDir: join(tmp, 'tls') });
    const caFile = join(tmp, 'tls-ca.pem');
    writeFileSync(caFile, tls.cert);
    const https = createHttpsServer(
      { cert: tls.cert, key: tls.key },
      (req, res) => void getSigningKey(req, res, { key } as unknown as EvidenceRouteContext),
    );
    await new Promise<void>((r) => https.listen(0, '127.0.0.1', r));
    const recorder = `https://127.0.0.1:${(https.address() as AddressInfo).port}`;
    try {
      const ok = await cli('verify', genuine, '--server', recorder, '--server-ca', caFile);
      expect(ok.stderr).toBe('');
      expect(ok.code).toBe(VERIFY_EXIT.verified);
      expect(ok.stdout).toContain(`result:    OK, signed by the expected key (the recorder at ${recorder})`);
      const swapped = await cli('verify', forged, '--server', recorder, '--server-ca', caFile);
      expect(swapped.code).toBe(VERIFY_EXIT.failed);
      expect(swapped.stderr).toContain(`bundle is signed by ${mallory.fingerprint}`);
      const insecure = await cli('verify', genuine, '--server', recorder, '--insecure-skip-tls-verify');
      expect(insecure.code).toBe(VERIFY_EXIT.unverifiedSigner);
    } finally {
      https.close();
    }
    // Nothing checked: a usage error and an unreachable recorder are 2, never a verdict.
    expect(
      ((await cli('verify', genuine, '--fingerprnt', 'x')).thrown as { exitCode?: number }).exitCode,
    ).toBe(VERIFY_EXIT.unusable);
    const down = await cli('verify', genuine, '--server', 'https://127.0.0.1:1', '--server-ca', caFile);
    expect(down.code).toBe(VERIFY_EXIT.unusable);
    const both = await cli('verify', genuine, '--key', caFile, '--fingerprint', key.fingerprint);
    expect(both.code).toBe(VERIFY_EXIT.unusable);
  });

  it('prints the recorder key and a bundle key with fingerprints', async () => {
    const remote = await cli('verify', '--show-key');
    expect(remote.stdout).toContain(`# fingerprint: ${key.fingerprint}\n-----BEGIN PUBLIC KEY-----`);
    const local = await cli('verify', '--show-key', join(tmp, 'one.tar.gz'));
    expect(local.stdout).toContain(`# fingerprint: ${key.fingerprint}`);
  });

  it('exports every matching finished session with progress on stderr', async () => {
    const dir = join(tmp, 'many');
    const r = await cli('export', '--user', 'alice@example.com', '-A', '-o', dir);
    expect(r.thrown).toBeUndefined();
    expect(readdirSync(dir)).toEqual([`${SESSION_ID}.tar.gz`]);
    expect(r.stderr).toMatch(new RegExp(`1/1 \\d+\\.\\d KiB ${SESSION_ID}\\n`));
    expect(r.stderr).toMatch(/exported 1 bundles \(\d+\.\d KiB\)/);
    const all = await cli('export', '-A', '-o', join(tmp, 'all'));
    expect(readdirSync(join(tmp, 'all')).sort()).toEqual([`${SESSION_ID}.tar.gz`, `${OTHER_ID}.tar.gz`]);
    expect(all.stderr).toMatch(/2\/2 /);
  });
});
