// REST handlers for evidence, as plain (req, res, ctx) functions the server's router mounts:
//   GET /api/v1/sessions/{id}/evidence            → the signed bundle (.tar.gz)
//   GET /.well-known/audited-exec/signing-key     → {algorithm, publicKeyPem, fingerprint}, no auth
//   PUT /api/v1/sessions/{id}/legal-hold          → body {"legalHold": bool}, authorised callers only
//   GET /api/v1/evidence?user=&namespace=&since=&until=  → tar of <id>.tar.gz bundles + index.json
import { createHash, type Hash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { isErrorCode } from '../../common/error-codes.ts';
import { AuditedExecError, errorMessage } from '../../common/errors.ts';
import { tarEnd, tarMember, tarMemberStream } from '../../common/evidence/tar.ts';
import type { SessionRecord } from '../../common/wire.ts';
import { sendStatus, statusFor } from '../http/respond.ts';
import type { Evidence } from './evidence.ts';
import type { SigningKey } from './signing-key.ts';
import { checkSessionId } from './store.ts';

export type EvidenceAction = 'evidence:read' | 'evidence:export' | 'legal-hold:set';

/** Resolves the caller and decides; the user name is returned for the audit trail. */
export type Authorize = (
  req: IncomingMessage,
  request: { action: EvidenceAction; sessionId?: string },
) => Promise<{ allowed: boolean; user?: string }>;

export interface EvidenceRouteContext {
  /** path parameters from the router, e.g. {id} */
  params: Record<string, string | undefined>;
  evidence: Evidence;
  key: Pick<SigningKey, 'publicKeyPem' | 'fingerprint'>;
  authorize: Authorize;
  /** sets the flag on the session row; resolves to the updated record, null if unknown */
  setLegalHold(id: string, hold: boolean, by: string): Promise<SessionRecord | null>;
  /** every session matching GET /api/v1/sessions filters (all pages) */
  listSessions(query: URLSearchParams): Promise<SessionRecord[]>;
}

type Handler = (req: IncomingMessage, res: ServerResponse, ctx: EvidenceRouteContext) => Promise<void>;

export const getSigningKey: Handler = async (_req, res, ctx) => {
  json(res, 200, {
    algorithm: 'Ed25519',
    publicKeyPem: ctx.key.publicKeyPem,
    fingerprint: ctx.key.fingerprint,
  });
};

export const getEvidence: Handler = guard(async (req, res, ctx) => {
  const id = checkSessionId(ctx.params.id ?? '');
  await allowed(req, ctx, 'evidence:read', id);
  const bundle = await ctx.evidence.bundle(id);
  res.writeHead(200, {
    'content-type': 'application/gzip',
    'content-length': bundle.size,
    'content-disposition': `attachment; filename="audited-exec-${id}.tar.gz"`,
    'x-evidence-signer': ctx.key.fingerprint,
    'cache-control': 'no-store',
  });
  // Streamed: a bundle holds its whole recording. A failure now cuts the response (guard).
  await pipeline(bundle.stream(), res);
});

export const putLegalHold: Handler = guard(async (req, res, ctx) => {
  const id = checkSessionId(ctx.params.id ?? '');
  const who = await allowed(req, ctx, 'legal-hold:set', id);
  const body = (await readJson(req)) as { legalHold?: unknown } | null;
  if (typeof body?.legalHold !== 'boolean') {
    throw new AuditedExecError(
      'EVIDENCE_BAD_REQUEST',
      'body must be {"legalHold": true} or {"legalHold": false}',
    );
  }
  const updated = await ctx.setLegalHold(id, body.legalHold, who.user ?? 'unknown');
  if (!updated) throw new AuditedExecError('EVIDENCE_NOT_FOUND', `session ${id} does not exist`);
  json(res, 200, { id, legalHold: updated.legalHold === true });
});

/** Streams an uncompressed tar of bundles (each already gzip); sessions still running are listed as skipped. */
export const getBulkExport: Handler = guard(async (req, res, ctx) => {
  await allowed(req, ctx, 'evidence:export');
  const query = new URL(req.url ?? '/', 'http://x').searchParams;
  const sessions = await ctx.listSessions(query);
  res.writeHead(200, {
    'content-type': 'application/x-tar',
    'content-disposition': 'attachment; filename="audited-exec-evidence.tar"',
    'cache-control': 'no-store',
  });
  const index: Array<{ id: string; file?: string; sha256?: string; skipped?: string }> = [];
  for (const s of sessions) {
    let bundle: Blob;
    try {
      bundle = await ctx.evidence.bundle(s.id);
    } catch (err) {
      // Headers are gone: a failure per session goes into the index instead of the status line.
      index.push({ id: s.id, skipped: errorMessage(err) });
      continue;
    }
    // Once a member has begun the archive cannot skip it: a read failure here cuts the response.
    const file = `${s.id}.tar.gz`;
    const hash = createHash('sha256');
    const body = hashing(bundle, hash);
    for await (const block of tarMemberStream({ name: file, size: bundle.size, body })) {
      await write(res, block);
    }
    index.push({ id: s.id, file, sha256: hash.digest('hex') });
  }
  for (const block of tarMember(
    'index.json',
    new TextEncoder().encode(`${JSON.stringify(index, null, 2)}\n`),
  )) {
    await write(res, block);
  }
  res.end(tarEnd());
});

async function* hashing(blob: Blob, hash: Hash): AsyncGenerator<Uint8Array> {
  for await (const chunk of blob.stream()) {
    hash.update(chunk);
    yield chunk;
  }
}

function guard(fn: Handler): Handler {
  return async (req, res, ctx) => {
    try {
      await fn(req, res, ctx);
    } catch (err) {
      if (res.headersSent) {
        res.destroy(err as Error);
        return;
      }
      // A refusal with a code is answered as everywhere (server/http); anything else is a fault the
      // router logs and answers 500 without its details.
      if (!(err instanceof AuditedExecError && isErrorCode(err.code))) throw err;
      sendStatus(res, statusFor(err));
    }
  };
}

/** The caller's name when `action` is allowed; refuses with EVIDENCE_FORBIDDEN otherwise. */
async function allowed(
  req: IncomingMessage,
  ctx: EvidenceRouteContext,
  action: EvidenceAction,
  sessionId?: string,
): Promise<{ user?: string }> {
  const decision = await ctx.authorize(req, { action, sessionId });
  if (decision.allowed) return decision;
  throw new AuditedExecError('EVIDENCE_FORBIDDEN', refusal(decision.user || 'you', action, sessionId));
}

/** The refusal as a sentence the user can act on: what was refused, and the RBAC it needs. */
export function refusal(user: string, action: EvidenceAction, sessionId?: string): string {
  const session = sessionId ? `session ${sessionId}` : 'these sessions';
  switch (action) {
    case 'evidence:read':
      return `${user} may not read the evidence of ${session} (it needs get on sessions.audited-exec.io)`;
    case 'evidence:export':
      return `${user} may not export evidence (it needs get on sessions.audited-exec.io)`;
    case 'legal-hold:set':
      return `${user} may not set or lift the legal hold on ${session} (it needs update on sessions.audited-exec.io)`;
  }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > 64 * 1024) throw new AuditedExecError('EVIDENCE_BAD_REQUEST', 'request body too large');
    chunks.push(c);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return null;
  }
}

/** Writes with backpressure: a slow client holds the export, not the server's memory. */
function write(res: ServerResponse, chunk: Uint8Array): Promise<void> {
  if (res.write(chunk)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      res.off('drain', done).off('close', closed);
      if (err) reject(err);
      else resolve();
    };
    const closed = () => done(new Error('client went away during the export'));
    res.on('drain', done).on('close', closed);
  });
}

function json(res: ServerResponse, code: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
