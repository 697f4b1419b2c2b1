// The apiserver audit log: one audit.k8s.io/v1 Event per line at level Metadata, the fields a
// real kube-apiserver writes. buildAuditEvent is pure; AuditLog appends lines to a file.
import { appendFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { UserInfo } from './identity.ts';

export interface AuditObjectRef {
  resource?: string;
  namespace?: string;
  name?: string;
  subresource?: string;
  apiGroup?: string;
  apiVersion?: string;
}

export type AuditStage = 'RequestReceived' | 'ResponseStarted' | 'ResponseComplete' | 'Panic';

export interface AuditEvent {
  kind: 'Event';
  apiVersion: 'audit.k8s.io/v1';
  level: 'Metadata';
  auditID: string;
  stage: AuditStage;
  requestURI: string;
  verb: string;
  user: UserInfo;
  impersonatedUser?: UserInfo;
  sourceIPs: string[];
  userAgent?: string;
  objectRef?: AuditObjectRef;
  responseStatus?: {
    metadata: Record<string, never>;
    code: number;
    status?: string;
    reason?: string;
    message?: string;
  };
  requestReceivedTimestamp: string;
  stageTimestamp: string;
  annotations?: Record<string, string>;
}

/** RFC 3339 with microseconds, as the apiserver writes metav1.MicroTime. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export interface AuditRequestInfo {
  auditID: string;
  requestURI: string;
  verb: string;
  user: UserInfo;
  impersonatedUser?: UserInfo;
  sourceIP: string;
  userAgent?: string;
  objectRef?: AuditObjectRef;
  receivedAt: number;
}

export function buildAuditEvent(
  req: AuditRequestInfo,
  stage: AuditStage,
  response: { code: number; message?: string; reason?: string },
  at: number,
  annotations?: Record<string, string>,
): AuditEvent {
  const failed = response.code >= 400;
  return {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'Metadata',
    auditID: req.auditID,
    stage,
    requestURI: req.requestURI,
    verb: req.verb,
    user: req.user,
    ...(req.impersonatedUser ? { impersonatedUser: req.impersonatedUser } : {}),
    sourceIPs: [req.sourceIP],
    ...(req.userAgent ? { userAgent: req.userAgent } : {}),
    ...(req.objectRef ? { objectRef: req.objectRef } : {}),
    responseStatus: {
      metadata: {},
      code: response.code,
      ...(failed ? { status: 'Failure' } : {}),
      ...(failed && response.reason ? { reason: response.reason } : {}),
      ...(failed && response.message ? { message: response.message } : {}),
    },
    requestReceivedTimestamp: microTime(req.receivedAt),
    stageTimestamp: microTime(at),
    ...(annotations ? { annotations } : {}),
  };
}

export function parseAuditLog(text: string): AuditEvent[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as AuditEvent);
}

export class AuditLog {
  readonly path: string;
  constructor(path: string) {
    this.path = path;
  }

  /** Synchronous append: an event is on disk before the response that it describes finishes. */
  write(event: AuditEvent): void {
    appendFileSync(this.path, `${JSON.stringify(event)}\n`);
  }

  async read(): Promise<AuditEvent[]> {
    try {
      return parseAuditLog(await readFile(this.path, 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }
}
