// The webhook variant decides the same table of cases as the shipped ValidatingAdmissionPolicy.
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AdmissionReview,
  createAdmissionHandler,
  DEFAULT_BREAK_GLASS_GROUPS,
  DEFAULT_DEBUG_NAMESPACE,
  review,
} from '../../../server/admission/webhook.ts';
import { ADMISSION_CASES, BREAK_GLASS, DEBUG_NS } from '../../deploy/admission-cases.ts';

const policy = { breakGlassGroups: [BREAK_GLASS], debugNamespace: DEBUG_NS };
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

  it.each(ADMISSION_CASES)('$name', (c) => {
    const out = review(wrap(c.request), policy);
    expect(out.response?.uid).toBe(c.request.uid);
    expect(out.response?.allowed).toBe(c.allowed);
    if (!c.allowed) expect(out.response?.status?.code).toBe(403);
    if (c.message) expect(out.response?.status?.message).toContain(c.message);
    expect(Boolean(out.response?.warnings?.length)).toBe(c.reported);
    expect(out.response?.auditAnnotations?.['break-glass'] !== undefined).toBe(c.reported);
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
  const server = createServer(createAdmissionHandler(policy));
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
