// The webhook variant decides the same table of cases as the shipped ValidatingAdmissionPolicy.
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grantOf, type SessionGrant } from '../../../server/admission/grants.ts';
import {
  type AdmissionReview,
  createAdmissionHandler,
  DEFAULT_BREAK_GLASS_GROUPS,
  DEFAULT_DEBUG_NAMESPACE,
  FORGED_ANNOTATION,
  markerToLookUp,
  review,
} from '../../../server/admission/webhook.ts';
import { ADMISSION_CASES, BREAK_GLASS, DEBUG_NS, STORED_SESSIONS } from '../../deploy/admission-cases.ts';

const policy = { breakGlassGroups: [BREAK_GLASS], debugNamespace: DEBUG_NS };
/** The handler's store lookup, over the shared table's sessions. */
const lookup = async (id: string): Promise<SessionGrant | null> => {
  const s = STORED_SESSIONS.find((x) => x.id === id);
  return s ? grantOf(s) : null;
};
const decide = async (r: AdmissionReview) => {
  const id = markerToLookUp(r);
  return review(r, policy, id === undefined ? null : await lookup(id));
};
const wrap = (request: AdmissionReview['request']): AdmissionReview => ({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  ...(request ? { request } : {}),
});

describe('admission webhook review()', () => {
  it('defaults match the shipped policy', () => {
    expect(DEFAULT_BREAK_GLASS_GROUPS).toEqual([BREAK_GLASS]);
    expect(DEFAULT_DEBUG_NAMESPACE).toBe(DEBUG_NS);
  });

  it.each(ADMISSION_CASES)('$name', async (c) => {
    const out = await decide(wrap(c.request));
    expect(out.response?.uid).toBe(c.request.uid);
    expect(out.response?.allowed).toBe(c.allowed);
    if (!c.allowed) expect(out.response?.status?.code).toBe(403);
    if (c.message) expect(out.response?.status?.message).toContain(c.message);
    expect(Boolean(out.response?.warnings?.length)).toBe(c.reported);
    expect(out.response?.auditAnnotations?.['break-glass'] !== undefined).toBe(c.reported);
    expect(out.response?.auditAnnotations?.[FORGED_ANNOTATION] !== undefined).toBe(Boolean(c.forged));
  });

  it('names the forged marker, the user and why in the audit annotation the apiserver can store', async () => {
    const c = ADMISSION_CASES.find((x) => x.name === "another user's open session")!;
    const out = await decide(wrap(c.request));
    expect(out.response?.auditAnnotations?.[FORGED_ANNOTATION]).toBe(
      `mallory presented session marker "${STORED_SESSIONS[0]!.id}" for pods/exec shop/web-0: the session belongs to another user`,
    );
    // The apiserver stores "<webhook name>/<key>" and drops keys that are not a qualified name
    // (exactly one '/'): the key carries no prefix of its own.
    const stored = `exec.audited-exec.io/${FORGED_ANNOTATION}`;
    expect(stored).toMatch(/^[a-z0-9.-]+\/[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/);
  });

  it('honours a configured debug namespace and break-glass group', () => {
    const c = ADMISSION_CASES.find((x) => x.name === 'privileged pod in the debug namespace by a user')!;
    const moved = { ...c.request, namespace: 'ops-debug' };
    expect(review(wrap(moved), policy).response?.allowed).toBe(true);
    expect(review(wrap(moved), { ...policy, debugNamespace: 'ops-debug' }).response?.allowed).toBe(false);
    const sre = { ...c.request, userInfo: { username: 'sre', groups: ['sre-oncall'] } };
    expect(review(wrap(sre), { ...policy, breakGlassGroups: ['sre-oncall'] }).response?.allowed).toBe(true);
  });

  it('denies a review without a request', () => {
    expect(review(wrap(undefined), policy).response).toMatchObject({ allowed: false, status: { code: 400 } });
  });
});

describe('admission webhook handler', () => {
  const server = createServer(createAdmissionHandler({ policy, lookup }));
  let url = '';
  beforeAll(async () => {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/admission/validate`;
  });
  afterAll(() => new Promise<void>((done) => server.close(() => done())));

  it('answers an AdmissionReview over HTTP', async () => {
    const c = ADMISSION_CASES.find((x) => x.name === 'direct exec by a user')!;
    const res = await fetch(url, { method: 'POST', body: JSON.stringify(wrap(c.request)) });
    expect(res.status).toBe(200);
    const body = (await res.json()) as AdmissionReview;
    expect(body).toMatchObject({ kind: 'AdmissionReview', response: { uid: c.request.uid, allowed: false } });
  });

  it('denies garbage instead of failing open', async () => {
    const res = await fetch(url, { method: 'POST', body: '{not json' });
    expect(((await res.json()) as AdmissionReview).response?.allowed).toBe(false);
    expect((await fetch(url)).status).toBe(405);
  });
});
