// metav1.Status objects: the error shape of every JSON error we return, and the exit status
// carried on channel 3 of a remote-command stream.

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: { name?: string; group?: string; kind?: string; causes?: StatusCause[] };
  code?: number;
}

/** Reasons the apiserver uses for each HTTP code, so clients that switch on `reason` behave. */
const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'AlreadyExists',
  410: 'Gone',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

export function failureStatus(
  code: number,
  message: string,
  extra: { reason?: string; details?: Status['details'] } = {},
): Status {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason: extra.reason ?? REASONS[code] ?? 'Unknown',
    ...(extra.details ? { details: extra.details } : {}),
    code,
  };
}

/** Channel-3 payload for a finished command, exactly as the kubelet words it. */
export function exitStatusPayload(exitCode: number): string {
  if (exitCode === 0) return JSON.stringify({ metadata: {}, status: 'Success' });
  return JSON.stringify({
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command, exit status ${exitCode}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] },
  });
}

/**
 * Reads the exit code out of a channel-3 status. Success → 0; NonZeroExitCode → its cause;
 * any other failure (e.g. the container could not start the command) → null with the message.
 */
export function exitCodeFromStatus(payload: Buffer | string): { code: number | null; message?: string } {
  let s: Partial<Status> & { details?: { causes?: StatusCause[] } };
  try {
    s = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'));
  } catch {
    return { code: null, message: 'unreadable exit status from the container runtime' };
  }
  if (s.status === 'Success') return { code: 0 };
  const cause = s.details?.causes?.find((c) => c.reason === 'ExitCode');
  const n = cause?.message !== undefined ? Number.parseInt(cause.message, 10) : Number.NaN;
  if (Number.isInteger(n)) return { code: n };
  return { code: null, ...(s.message ? { message: s.message } : {}) };
}
