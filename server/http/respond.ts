// Response helpers: every JSON error is a metav1.Status with one human sentence.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { ERROR_CODES, isErrorCode } from '../../common/error-codes.ts';
import { AuditedExecError } from '../../common/errors.ts';
import { failureStatus, type Status } from '../../common/status.ts';

/**
 * A refusal whose HTTP answer is not the code's own (common/error-codes.ts): the apiserver's status
 * and reason passed on to the user as the apiserver gave them, or a code the table leaves open.
 */
export class HttpError extends AuditedExecError {
  readonly status: number;
  readonly reason: string | undefined;
  constructor(status: number, code: string, message: string, options?: { cause?: unknown; reason?: string }) {
    super(code, message, options);
    this.status = status;
    this.reason = options?.reason;
  }

  toStatus(): Status {
    return codedStatus(this.status, this.code, this.message, this.reason);
  }
}

/** A failure Status that carries its refusal code as the first cause (common/error-codes.ts). */
export function codedStatus(http: number, code: string, message: string, reason?: string): Status {
  return failureStatus(http, message, {
    ...(reason ? { reason } : {}),
    details: { causes: [{ reason: code, message: isErrorCode(code) ? ERROR_CODES[code].means : code }] },
  });
}

/**
 * Maps any thrown value to the Status a client sees, the one place an error becomes an HTTP answer:
 * an error with a code from the table gets that code's status; unknown errors do not leak internals.
 */
export function statusFor(err: unknown): Status {
  if (err instanceof HttpError) return err.toStatus();
  if (err instanceof AuditedExecError && isErrorCode(err.code)) {
    const http = ERROR_CODES[err.code].http;
    if (http !== null) return codedStatus(http, err.code, err.message);
  }
  return codedStatus(500, 'INTERNAL', 'internal error in the recorder; see its log');
}

export function sendJson(
  res: ServerResponse,
  code: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(code, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(text);
}

export function sendStatus(res: ServerResponse, status: Status): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, status.code ?? 500, status);
}

export function statusLine(code: number): string {
  return `HTTP/1.1 ${code} ${STATUS_CODES[code] ?? 'Error'}`;
}

/** Refuses a WebSocket upgrade with a plain HTTP answer, as the apiserver does. */
export function refuseUpgrade(socket: Duplex, status: Status): void {
  const body = JSON.stringify(status);
  const code = status.code ?? 500;
  if (socket.writable) {
    socket.end(
      `${statusLine(code)}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  } else socket.destroy();
}

/** Reads a JSON body up to `limit` bytes. */
export async function readJson(req: IncomingMessage, limit = 64 * 1024): Promise<unknown> {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type)) {
    throw new AuditedExecError('HTTP_CONTENT_TYPE', 'send the request body as application/json');
  }
  // Refused before a byte is read when the client says up front that the body is too large.
  if (Number(req.headers['content-length'] ?? 0) > limit) {
    throw new AuditedExecError('HTTP_TOO_LARGE', `request body is larger than ${limit} bytes`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit)
      throw new AuditedExecError('HTTP_TOO_LARGE', `request body is larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new AuditedExecError('HTTP_BAD_JSON', 'the request body is not valid JSON');
  }
}
