// Input checks for session requests and ids. Pure: returns the typed value or throws a 4xx.
import { isSessionId } from '../../common/session-marker.ts';
import type { DebugProfile, SessionCreateRequest } from '../../common/wire.ts';
import { HttpError } from '../http/respond.ts';

export function requireSessionId(s: string | undefined): string {
  if (s === undefined || !isSessionId(s)) {
    throw new HttpError(404, 'SESSION_BAD_ID', 'no such session: session ids are lower-case UUIDs');
  }
  return s;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const PROFILES: DebugProfile[] = ['legacy', 'general', 'baseline', 'restricted', 'netadmin', 'sysadmin'];
const MAX_TEXT = 1024;

export function isDnsLabel(s: string): boolean {
  return s.length <= 63 && DNS_LABEL.test(s);
}

export function isDnsSubdomain(s: string): boolean {
  return s.length <= 253 && DNS_SUBDOMAIN.test(s);
}

function invalid(message: string): never {
  throw new HttpError(422, 'SESSION_INVALID', message);
}

function optionalText(v: unknown, field: string): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') invalid(`${field} must be a string`);
  if (v.length > MAX_TEXT) invalid(`${field} is longer than ${MAX_TEXT} characters`);
  return v;
}

// biome-ignore lint/complexity/noExcessiveCognitiveComplexity: a flat list of sibling field checks, each one line that throws: the score counts them, the reader sees a list
export function validateCreateRequest(body: unknown): SessionCreateRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    invalid('the request body must be a JSON object');
  const b = body as Record<string, unknown>;
  const kind = b.kind ?? 'exec';
  if (kind !== 'exec' && kind !== 'node-debug') invalid('kind must be "exec" or "node-debug"');
  // node-debug may omit the command, like `kubectl debug node/N -it --image I`: the image's default runs.
  const command = b.command ?? (kind === 'node-debug' ? [] : undefined);
  if (
    !Array.isArray(command) ||
    (command.length === 0 && kind !== 'node-debug') ||
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
  if (kind === 'exec') {
    const namespace = optionalText(b.namespace, 'namespace') ?? invalid('namespace is required');
    const pod = optionalText(b.pod, 'pod') ?? invalid('pod is required');
    if (!isDnsLabel(namespace)) invalid(`namespace "${namespace}" is not a valid namespace name`);
    if (!isDnsSubdomain(pod)) invalid(`pod "${pod}" is not a valid pod name`);
    req.namespace = namespace;
    req.pod = pod;
  } else {
    const node = optionalText(b.node, 'node') ?? invalid('node is required for node-debug sessions');
    if (!isDnsSubdomain(node)) invalid(`node "${node}" is not a valid node name`);
    req.node = node;
    const image = optionalText(b.image, 'image');
    if (image !== undefined) req.image = image;
    const namespace = optionalText(b.namespace, 'namespace');
    if (namespace !== undefined) {
      if (!isDnsLabel(namespace)) invalid(`namespace "${namespace}" is not a valid namespace name`);
      req.namespace = namespace;
    }
    if (b.profile !== undefined) {
      if (!PROFILES.includes(b.profile as DebugProfile))
        invalid(`profile must be one of ${PROFILES.join(', ')}`);
      req.profile = b.profile as DebugProfile;
    }
  }
  return req;
}
