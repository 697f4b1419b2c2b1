// POST /api/v1/sessions: validate, apply policy, look at the pod as the user, reserve the
// recording, store the session as pending. Every refusal after the id exists is stored too, so
// the trail shows attempts as well as sessions.
import { randomUUID } from 'node:crypto';
import { AuditedExecError, errorMessage } from '../../common/errors.ts';
import type { SessionCreateRequest, SessionCreateResponse, SessionRecord } from '../../common/wire.ts';
import { refuseDeniedImpersonation } from '../auth/impersonation.ts';
import type { UserInfo } from '../auth/user.ts';
import { HttpError, readJson, sendJson } from '../http/respond.ts';
import type { RequestContext } from '../http/router.ts';
import { evaluatePolicy } from '../policy.ts';
import { reserveRecording } from '../recording/writer.ts';
import type { SessionTarget } from './driver.ts';
import type { SessionLifecycle } from './lifecycle.ts';
import type { SessionServices } from './services.ts';
import { streamPath } from './stream.ts';
import { validateCreateRequest } from './validate.ts';

export function createSessionHandler(services: SessionServices, lifecycle: SessionLifecycle) {
  return async (ctx: RequestContext): Promise<void> => {
    const user = ctx.user!;
    const request = validateCreateRequest(await readJson(ctx.req));
    const id = randomUUID();
    const decision = evaluatePolicy(services.policy, request, user);
    const base = baseRecord(id, request, user, services.clock(), await services.impersonator());
    try {
      refuseDeniedImpersonation(user, services.impersonationDeniedGroups);
    } catch (err) {
      await refuse(services, base, (err as HttpError).message);
      throw err;
    }
    if (!decision.allowed) {
      await refuse(services, base, decision.message);
      throw new HttpError(decision.status, decision.code, decision.message);
    }
    base.recordInput = decision.recordInput;
    // Stored (pending) before the first request that carries the session marker: admission allows
    // the marker only for a session open in the store (webhook) or published from it (policy params).
    await services.store.insertSession({ ...base, state: 'pending' });
    await services.admissionParams?.publish();
    // The target as the user may reach it: exec reads the pod, node-debug creates the debug pod.
    const driver = lifecycle.driver(request.kind);
    let target: SessionTarget;
    try {
      target = await driver.create({ request, user, id });
    } catch (err) {
      await refuseStored(services, id, err instanceof HttpError ? err.message : errorMessage(err));
      throw err;
    }
    try {
      await reserveRecording(services.dataDir, id);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const full = code === 'ENOSPC' || code === 'EDQUOT';
      const message = full
        ? 'the recorder has no space left for recordings; no session was started'
        : `the recorder cannot write recordings (${code ?? 'error'}); no session was started`;
      await refuseStored(services, id, message).catch((e) =>
        services.log?.(`session ${id}: storing its refusal failed: ${errorMessage(e)}`),
      );
      await lifecycle.cleanup({ ...base, ...target, state: 'refused', error: message });
      const refusal = full ? 'SESSION_RECORDING_NO_SPACE' : 'SESSION_RECORDING_UNAVAILABLE';
      throw new AuditedExecError(refusal, message, { cause: err });
    }
    await services.store.updateSession(id, { ...target });
    // The exec or attach the stream opens is granted by the target just stored: publish it now, so
    // the apiserver's params informer has the length of a round trip to the client to see it.
    await services.admissionParams?.publish();
    lifecycle.unopened.expect(base);
    const body: SessionCreateResponse = { id, streamPath: streamPath(id) };
    sendJson(ctx.res, 201, body, { Location: `/api/v1/sessions/${id}` });
  };
}

function baseRecord(
  id: string,
  request: SessionCreateRequest,
  user: UserInfo,
  now: Date,
  impersonator: string | undefined,
): SessionRecord {
  const r: SessionRecord = {
    id,
    kind: request.kind,
    state: 'pending',
    user: user.username,
    groups: user.groups,
    command: request.command,
    tty: request.tty,
    stdin: request.stdin,
    attribution: 'marker',
    auditId: id,
    startedAt: now.toISOString(),
    recordInput: false,
  };
  const optional = {
    uid: user.uid,
    impersonator,
    reason: request.reason,
    ticket: request.ticket,
    namespace: request.namespace,
    pod: request.pod,
    container: request.container,
    node: request.node,
    image: request.image,
    profile: request.profile,
  };
  for (const [k, v] of Object.entries(optional))
    if (v !== undefined) (r as unknown as Record<string, unknown>)[k] = v;
  return r;
}

/** A session refused after it was stored as pending; its marker stops being valid with it. */
async function refuseStored(services: SessionServices, id: string, error: string): Promise<void> {
  await services.store.transitionSession(id, 'pending', {
    state: 'refused',
    error,
    endedAt: services.clock().toISOString(),
  });
  await services.admissionParams?.publish();
}

async function refuse(services: SessionServices, record: SessionRecord, error: string): Promise<void> {
  await services.store.insertSession({
    ...record,
    state: 'refused',
    error,
    endedAt: services.clock().toISOString(),
  });
}
