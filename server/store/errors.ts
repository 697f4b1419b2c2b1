// The stores' own errors. A store knows nothing of HTTP: it throws these with a stable code, and
// server/http/respond.ts answers each code with its status (common/error-codes.ts).
import type { ErrorCode } from '../../common/error-codes.ts';
import { AuditedExecError } from '../../common/errors.ts';

export type StoreErrorCode = Extract<
  ErrorCode,
  'STORE_DISK_FULL' | 'STORE_UNAVAILABLE' | 'STORE_BAD_CURSOR' | 'EVENTS_BAD_CURSOR'
>;

export class StoreError extends AuditedExecError {
  declare readonly code: StoreErrorCode;
  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'StoreError';
  }
}

/** A continue token this server did not issue (or that no longer parses). */
export function badCursor(code: 'STORE_BAD_CURSOR' | 'EVENTS_BAD_CURSOR'): StoreError {
  return new StoreError(code, 'the continue token is not one this server issued');
}
