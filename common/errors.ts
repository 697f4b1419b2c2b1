// Errors with a stable `code` (like ws's WS_ERR_*): callers switch on the code, users read the message.

export class AuditedExecError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AuditedExecError';
    this.code = code;
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
