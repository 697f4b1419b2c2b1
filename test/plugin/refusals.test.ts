// One test per refusal code the plugin switches on: the recorder's own edge (server/http's router
// and statusFor, with the refusals thrown as the recorder throws them) answers on port 0, the real
// plugin binary asks, and what the user sees (stderr, exit code) follows from the code on the wire,
// never from the sentence: the same words without a code are an ordinary refusal.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditedExecError } from '../../common/errors.ts';
import { failureStatus } from '../../common/status.ts';
import type { SessionCreateRequest } from '../../common/wire.ts';
import { HttpError, readJson, sendJson } from '../../server/http/respond.ts';
import { Router } from '../../server/http/router.ts';
import { evaluatePolicy } from '../../server/policy.ts';
import { PLUGIN_MAIN } from '../support/plugin-bin.ts';

const run = promisify(execFile);
let dir: string;
let server: Server;
let url: string;

/** The refusal the recorder's POST /api/v1/sessions throws for each test pod. */
function refusalFor(request: SessionCreateRequest): Error | null {
  const policy = {
    recordInput: false,
    exec: [
      { namespaces: ['prod'], pods: ['needs-reason'], requireReason: true },
      { namespaces: ['prod'], pods: ['needs-ticket'], requireTicket: true },
    ],
    nodeDebug: {},
  };
  const decision = evaluatePolicy(policy, request, { groups: [] });
  // As sessions/create.ts throws a policy refusal.
  if (!decision.allowed) return new HttpError(decision.status, decision.code, decision.message);
  if (request.pod === 'nope') return new AuditedExecError('POD_NOT_FOUND', 'pods "nope" not found');
  return null;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plugin-refusals-'));
  writeFileSync(
    join(dir, 'config'),
    `apiVersion: v1
kind: Config
current-context: c
contexts:
- {name: c, context: {cluster: k, user: u, namespace: prod}}
- {name: stranger, context: {cluster: k, user: stranger, namespace: prod}}
clusters: [{name: k, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: good}}, {name: stranger, user: {token: bad}}]
`,
  );
  const router = new Router({
    authenticator: {
      authenticate: async (req) =>
        req.headers.authorization === 'Bearer good'
          ? { username: 'alice', groups: [], method: 'token' }
          : null,
    },
  });
  router.post('/api/v1/sessions', async (ctx) => {
    const request = (await readJson(ctx.req)) as SessionCreateRequest;
    if (request.pod === 'proxy-says-reason') {
      // A refusal from something that is not the recorder, worded like a policy one but uncoded.
      return sendJson(ctx.res, 403, failureStatus(403, 'this namespace requires a reason for every session'));
    }
    const refusal = refusalFor(request);
    if (refusal) throw refusal;
    sendJson(ctx.res, 500, failureStatus(500, 'the test has no case for this pod'));
  });
  server = createServer((req, res) => void router.handle(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => server?.close(r));
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `kubectl-audited_exec --server URL exec POD -- sh`; resolves to its exit code and stderr. */
async function execPod(pod: string, ...flags: string[]): Promise<{ code: number; stderr: string }> {
  const args = [PLUGIN_MAIN, '--server', url, ...flags, 'exec', pod, '--', 'sh'];
  const env = { ...process.env, KUBECONFIG: join(dir, 'config'), HOME: dir };
  try {
    const r = await run(process.execPath, args, { env, timeout: 30_000 });
    return { code: 0, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    return { code: e.code ?? -1, stderr: e.stderr ?? '' };
  }
}

describe('refusal codes over the wire, as the plugin shows them', () => {
  it('POLICY_REASON_REQUIRED: says which flag to pass, exit 1', async () => {
    const r = await execPod('needs-reason');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'error: this namespace requires --reason "why you need this session": policy: sessions in ' +
        'prod/needs-reason require a reason; pass --reason "why you need this"\n',
    );
  });

  it('POLICY_TICKET_REQUIRED: says which flag to pass, exit 1', async () => {
    const r = await execPod('needs-ticket');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'error: this namespace requires --ticket ID: policy: sessions in prod/needs-ticket require a ' +
        'ticket; pass --ticket ID\n',
    );
  });

  it('POD_NOT_FOUND: the apiserver’s words, kubectl-style, exit 1', async () => {
    const r = await execPod('nope');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('Error from server (NotFound): pods "nope" not found\n');
  });

  it('UNAUTHENTICATED: the login sentence, exit 1', async () => {
    const r = await execPod('needs-reason', '--context', 'stranger');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^error: You must be logged in to the server \(Unauthorized\): the audited-exec recorder at http:\/\/127\.0\.0\.1:\d+ did not accept your kubeconfig credentials \(authentication required/,
    );
  });

  it('no code: a policy-like sentence stays an ordinary refusal', async () => {
    const r = await execPod('proxy-says-reason');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'Error from server (Forbidden): this namespace requires a reason for every session\n',
    );
  });
});
