// The stream acts as the caller is when it opens it: a group carol had at create but no longer has
// at open (a revoked on-call group) is not impersonated, and the record says which groups ran.
// Two client certificates for the same user (CN=carol) with different O= stand for the change.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionCreateResponse, SessionRecord } from '../../../common/wire.ts';
import { type Sandbox, startSandbox } from '../../sandbox/index.ts';
import { skipE2E } from '../../support/prereq.ts';
import { type RecorderHandle, startRecorder } from '../../support/recorder.ts';
import { type Credentials, call, createExecSession, runStream } from '../client.ts';

/** A client certificate from the sandbox's CA: CN = user, one O per group. */
function issue(sb: Sandbox, name: string, user: string, groups: string[]): Credentials {
  const pki = join(sb.dir, 'pki');
  const key = join(pki, `${name}.key`);
  const csr = join(pki, `${name}.csr`);
  const crt = join(pki, `${name}.crt`);
  const subj = `/${groups.map((g) => `O=${g}/`).join('')}CN=${user}`;
  execFileSync(
    'openssl',
    [
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      csr,
      '-subj',
      subj,
    ],
    { stdio: 'ignore' },
  );
  execFileSync(
    'openssl',
    [
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      join(pki, 'ca.crt'),
      '-CAkey',
      join(pki, 'ca.key'),
      '-set_serial',
      String(Date.now()),
      '-days',
      '1',
      '-out',
      crt,
    ],
    { stdio: 'ignore' },
  );
  return { cert: readFileSync(crt, 'utf8'), key: readFileSync(key, 'utf8') };
}

describe.skipIf(skipE2E('stream groups', 'root', 'runc'))(
  'the stream impersonates the groups at open',
  () => {
    let sb: Sandbox;
    let rec: RecorderHandle;

    beforeAll(async () => {
      sb = await startSandbox({ log: () => {} });
      rec = await startRecorder({ sandbox: sb });
    }, 60_000);
    afterAll(async () => {
      await rec?.stop();
      await sb?.stop();
    });

    it("impersonates the opener's groups, not those saved at create", async () => {
      const atCreate = issue(sb, 'carol-oncall', 'carol', ['dev', 'oncall']);
      const atOpen = issue(sb, 'carol-dev', 'carol', ['dev']);
      const created = await createExecSession<SessionCreateResponse>(rec, atCreate);
      expect(created.status).toBe(201);
      const id = created.body.id;
      expect(
        (await call<SessionRecord>(rec, atCreate, 'GET', `/api/v1/sessions/${id}`)).body.groups,
      ).toContain('oncall');
      const r = await runStream(rec, atOpen, created.body.streamPath);
      expect(r.exitCode).toBe(0);

      const exec = (await sb.readAudit()).find(
        (e) => e.auditID === id && e.objectRef?.subresource === 'exec',
      );
      expect(exec?.impersonatedUser?.username).toBe('carol');
      expect(exec?.impersonatedUser?.groups).not.toContain('oncall');
      expect(exec?.impersonatedUser?.groups).toContain('dev');
      const s = (await call<SessionRecord>(rec, atOpen, 'GET', `/api/v1/sessions/${id}`)).body;
      expect(s.groups).not.toContain('oncall');
      expect(s.groups).toContain('dev');
    });
  },
);
