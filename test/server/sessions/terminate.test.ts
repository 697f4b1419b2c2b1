// POST /api/v1/sessions/{id}/terminate against the real recorder and the sandbox apiserver's RBAC:
// every bad request gets its code and a sentence and leaves the session running; the right is
// asked of the apiserver on every request (SubjectAccessReview, verb terminate);
// only a running session can be ended, once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_TERMINATION_REASON, terminationOf } from '../../../common/termination.ts';
import type { SessionRecord } from '../../../common/wire.ts';
import { defaultPolicy, type Sandbox, startSandbox } from '../../sandbox/index.ts';
import { skipE2E } from '../../support/prereq.ts';
import { type RecorderHandle, startRecorder } from '../../support/recorder.ts';
import { type Credentials, call, runningSession } from '../client.ts';

type Refusal = { message?: string; details?: { causes?: { reason?: string }[] } };

describe.skipIf(skipE2E('server terminate', 'root', 'runc'))('terminating a session through the API', () => {
  let sb: Sandbox;
  let rec: RecorderHandle;
  let alice: Credentials;
  let moderator: Credentials;

  beforeAll(async () => {
    sb = await startSandbox({ log: () => {} });
    rec = await startRecorder({ sandbox: sb });
    alice = { token: sb.tokens.alice! };
    moderator = { token: sb.tokens.moderator! };
  });
  afterAll(async () => {
    await rec?.stop();
    await sb?.stop();
  });

  const running = () => runningSession(rec, alice);

  const terminate = (creds: Credentials, id: string, body: unknown) =>
    call<SessionRecord & Refusal>(rec, creds, 'POST', `/api/v1/sessions/${id}/terminate`, body);
  const code = (r: { body: Refusal }) => r.body.details?.causes?.[0]?.reason;
  const state = async (id: string) =>
    (await call<SessionRecord>(rec, { token: sb.tokens.auditor! }, 'GET', `/api/v1/sessions/${id}`)).body
      .state;

  it('refuses every bad request with its code and a sentence, and the session runs on', async () => {
    const { id, stream } = await running();
    const cases: [Credentials, string, unknown, number, string][] = [
      [moderator, id, {}, 422, 'SESSION_TERMINATE_INVALID'],
      [moderator, id, { reason: '   ' }, 422, 'SESSION_TERMINATE_INVALID'],
      [moderator, id, { reason: 7 }, 422, 'SESSION_TERMINATE_INVALID'],
      [moderator, id, { reason: 'x'.repeat(MAX_TERMINATION_REASON + 1) }, 422, 'SESSION_TERMINATE_INVALID'],
      [moderator, 'not-an-id', { reason: 'r' }, 404, 'SESSION_BAD_ID'],
      [moderator, '00000000-0000-4000-8000-000000000000', { reason: 'r' }, 404, 'SESSION_NOT_FOUND'],
      // alice owns it but holds no terminate verb: she ends her own session by leaving it.
      [alice, id, { reason: 'r' }, 403, 'SESSION_TERMINATE_FORBIDDEN'],
      [{ token: sb.tokens.bob! }, id, { reason: 'r' }, 403, 'SESSION_TERMINATE_FORBIDDEN'],
      [{ token: 'nobody' }, id, { reason: 'r' }, 401, 'UNAUTHENTICATED'],
    ];
    for (const [creds, target, body, status, refusal] of cases) {
      const r = await terminate(creds, target, body);
      expect([r.status, code(r)], JSON.stringify(body).slice(0, 60)).toEqual([status, refusal]);
      expect(r.body.message).toMatch(/\w/);
    }
    const forbidden = await terminate({ token: sb.tokens.bob! }, id, { reason: 'r' });
    expect(forbidden.body.message).toBe(
      `bob may not terminate session ${id}: it needs terminate on sessions.audited-exec.io (ClusterRole audited-exec:session-moderator)`,
    );
    expect(await state(id)).toBe('running');

    const ended = await terminate(moderator, id, { reason: ' INC-3\ttoo   much\u0007 output ' });
    expect(ended.status, ended.text).toBe(200);
    expect(ended.body).toMatchObject({
      id,
      state: 'terminated',
      terminatedBy: 'moderator',
      terminationReason: 'INC-3 too much output',
    });
    const result = await stream;
    const told = result.statuses.map((s) => terminationOf(JSON.parse(s))).find(Boolean);
    expect(told).toEqual({ by: 'moderator', reason: 'INC-3 too much output' });

    const again = await terminate(moderator, id, { reason: 'twice' });
    expect([again.status, code(again)]).toEqual([409, 'SESSION_NOT_RUNNING']);
    expect((await call<SessionRecord>(rec, moderator, 'GET', `/api/v1/sessions/${id}`)).body).toMatchObject({
      terminationReason: 'INC-3 too much output',
    });
  });

  it('asks the apiserver each time: a moderator whose rule is withdrawn is refused at once', async () => {
    const policy = defaultPolicy();
    const { id, stream } = await running();
    sb.setRbac({ rules: policy.rules.filter((rule) => !rule.groups?.includes('moderators')) });
    try {
      const refused = await terminate(moderator, id, { reason: 'no longer a moderator' });
      expect([refused.status, code(refused)]).toEqual([403, 'SESSION_TERMINATE_FORBIDDEN']);
      expect(await state(id)).toBe('running');
      sb.setRbac(policy);
      expect((await terminate(moderator, id, { reason: 'a moderator again' })).status).toBe(200);
      await stream;
    } finally {
      sb.setRbac(defaultPolicy());
    }
  });
});
