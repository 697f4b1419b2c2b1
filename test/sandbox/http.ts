// Small HTTP helpers shared by the handlers: JSON replies, Status errors, bodies.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { failureStatus, type Status } from '../../common/status.ts';
import { decodeKubeProtobuf, PROTOBUF_CONTENT_TYPE } from './protobuf.ts';

export class HttpError extends Error {
  readonly status: number;
  readonly reason?: string;
  readonly details?: Status['details'];
  constructor(status: number, message: string, extra: { reason?: string; details?: Status['details'] } = {}) {
    super(message);
    this.status = status;
    if (extra.reason) this.reason = extra.reason;
    if (extra.details) this.details = extra.details;
  }

  toStatus(): Status {
    return failureStatus(this.status, this.message, {
      ...(this.reason ? { reason: this.reason } : {}),
      ...(this.details ? { details: this.details } : {}),
    });
  }
}

export function notFound(resource: string, name: string, group = ''): HttpError {
  const qualified = group ? `${resource}.${group}` : resource;
  return new HttpError(404, `${qualified} "${name}" not found`, {
    details: { name, ...(group ? { group } : {}), kind: resource },
  });
}

export function sendJson(res: ServerResponse, code: number, body: unknown): number {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
  return code;
}

/** Writes an error answer on a raw socket (failed upgrades never reach a ServerResponse). */
export function sendSocketStatus(socket: Duplex, status: Status, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(status);
  const code = status.code ?? 500;
  const lines = [
    `HTTP/1.1 ${code} ${code === 400 ? 'Bad Request' : code === 401 ? 'Unauthorized' : code === 403 ? 'Forbidden' : code === 404 ? 'Not Found' : 'Error'}`,
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  if (socket.writable) socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
  else socket.destroy();
}

export async function readJson(req: IncomingMessage, limit = 4 << 20): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpError(413, 'the request body is too large');
    chunks.push(chunk as Buffer);
  }
  const raw = Buffer.concat(chunks);
  if ((req.headers['content-type'] ?? '').startsWith(PROTOBUF_CONTENT_TYPE)) {
    try {
      return decodeKubeProtobuf(raw);
    } catch (err) {
      throw new HttpError(415, (err as Error).message);
    }
  }
  const text = raw.toString('utf8');
  if (!text.trim()) throw new HttpError(400, 'the request body is empty; send a JSON object');
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'the request body is not valid JSON');
  }
}
