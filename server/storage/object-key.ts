// What an object key is, for every engine alike: a relative path of '/'-separated names, none of
// them empty, '.' or '..', and no backslash. A key that could leave a directory engine's root (or
// name a different object in S3 than in a directory) is refused the same way by both.
import { AuditedExecError } from '../../common/errors.ts';

/** The key's parts; throws STORAGE_BAD_KEY for a key that is not one. */
export function objectKeyParts(key: string): string[] {
  const parts = key.split('/');
  if (key === '' || parts.some((p) => p === '' || p === '.' || p === '..') || key.includes('\\')) {
    throw new AuditedExecError('STORAGE_BAD_KEY', `${JSON.stringify(key)} is not an object key`);
  }
  return parts;
}
