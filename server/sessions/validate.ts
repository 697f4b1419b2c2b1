// Input checks for session requests and ids. Pure: returns the typed value or throws a 4xx.
import { AuditedExecError } from '../../common/errors.ts';
import { isSessionId } from '../../common/session-marker.ts';
import type { SessionCreateRequest, SessionKind } from '../../common/wire.ts';
import type { RequestShape } from './driver.ts';
import { execRequest } from './drivers/exec/request.ts';
import { nodeDebugRequest } from './drivers/node-debug/request.ts';
import { invalid, isDnsLabel, optionalText } from './request-fields.ts';

export function requireSessionId(s: string | undefined): string {
  if (s === undefined || !isSessionId(s)) {
    throw new AuditedExecError('SESSION_BAD_ID', 'no such session: session ids are lower-case UUIDs');
  }
  return s;
}

/** Each kind's own fields (drivers/<kind>/request.ts). */
const SHAPES: Record<SessionKind, RequestShape> = { exec: execRequest, 'node-debug': nodeDebugRequest };

export function validateCreateRequest(body: unknown): SessionCreateRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    invalid('the request body must be a JSON object');
  const b = body as Record<string, unknown>;
  const kind = (b.kind ?? 'exec') as SessionKind;
  if (typeof kind !== 'string' || !Object.hasOwn(SHAPES, kind))
    invalid('kind must be "exec" or "node-debug"');
  const shape = SHAPES[kind];
  const command = b.command ?? shape.defaultCommand;
  if (
    !Array.isArray(command) ||
    (command.length === 0 && !shape.defaultCommand) ||
    !command.every((c) => typeof c === 'string')
  ) {
    invalid('command must be a non-empty list of strings');
  }
  if (command[0] === '') invalid('command[0] must not be empty');
  for (const k of ['tty', 'stdin'] as const) {
    if (b[k] !== undefined && typeof b[k] !== 'boolean') invalid(`${k} must be true or false`);
  }
  const req: SessionCreateRequest = {
    kind,
    command: command as string[],
    tty: b.tty === true,
    stdin: b.stdin === true,
  };
  const reason = optionalText(b.reason, 'reason');
  const ticket = optionalText(b.ticket, 'ticket');
  if (reason !== undefined) req.reason = reason;
  if (ticket !== undefined) req.ticket = ticket;
  const container = optionalText(b.container, 'container');
  if (container !== undefined) {
    if (!isDnsLabel(container)) invalid(`container "${container}" is not a valid container name`);
    req.container = container;
  }
  shape.target(b, req);
  return req;
}
