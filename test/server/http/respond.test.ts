// The one place an error becomes a Status (server/http/respond.ts statusFor): every refusal code in
// common/error-codes.ts is answered with its HTTP status and carries the code in details.causes;
// a refusal passed on from the apiserver keeps its status and reason; anything else is a 500 that
// says nothing about the recorder's insides. The plugin reads the code back with errorCodeOf.
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, type ErrorCode, errorCodeOf } from '../../../common/error-codes.ts';
import { AuditedExecError } from '../../../common/errors.ts';
import { HttpError, statusFor } from '../../../server/http/respond.ts';
import { StoreError } from '../../../server/store/errors.ts';

describe('statusFor', () => {
  it('answers every code in the table with its status, and the code crosses the wire', () => {
    for (const [code, info] of Object.entries(ERROR_CODES) as [
      ErrorCode,
      (typeof ERROR_CODES)[ErrorCode],
    ][]) {
      if (info.http === null) continue;
      const status = statusFor(new AuditedExecError(code, `refused: ${code}`));
      expect(status, code).toMatchObject({ status: 'Failure', code: info.http, message: `refused: ${code}` });
      expect(errorCodeOf(JSON.parse(JSON.stringify(status))), code).toBe(code);
    }
  });

  it('answers a store’s own error at the edge: the store knows no HTTP', () => {
    expect(statusFor(new StoreError('STORE_DISK_FULL', 'the disk is full'))).toMatchObject({
      code: 507,
      message: 'the disk is full',
      details: { causes: [{ reason: 'STORE_DISK_FULL' }] },
    });
  });

  it('keeps the apiserver’s status and reason for a refusal passed on', () => {
    const err = new HttpError(403, 'SESSION_APISERVER_REFUSED', 'pods "web" is forbidden', {
      reason: 'Forbidden',
    });
    expect(statusFor(err)).toMatchObject({
      code: 403,
      reason: 'Forbidden',
      message: 'pods "web" is forbidden',
      details: { causes: [{ reason: 'SESSION_APISERVER_REFUSED' }] },
    });
  });

  it('says nothing of an unknown error but that it is internal', () => {
    const status = statusFor(new Error('SQLITE_CORRUPT at /var/lib/secret.db'));
    expect(status).toMatchObject({ code: 500, details: { causes: [{ reason: 'INTERNAL' }] } });
    expect(JSON.stringify(status)).not.toContain('secret');
    expect(statusFor(new AuditedExecError('NOT_A_WIRE_CODE', 'x')).code).toBe(500);
  });
});
