// Checks of single request fields, shared by validate.ts and each kind's own request shape
// (drivers/<kind>/request.ts). Pure: returns the value or throws a 422.
import { AuditedExecError } from '../../common/errors.ts';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const MAX_TEXT = 1024;

export function isDnsLabel(s: string): boolean {
  return s.length <= 63 && DNS_LABEL.test(s);
}

export function isDnsSubdomain(s: string): boolean {
  return s.length <= 253 && DNS_SUBDOMAIN.test(s);
}

export function invalid(message: string): never {
  throw new AuditedExecError('SESSION_INVALID', message);
}

export function optionalText(v: unknown, field: string): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') invalid(`${field} must be a string`);
  if (v.length > MAX_TEXT) invalid(`${field} is longer than ${MAX_TEXT} characters`);
  return v;
}
