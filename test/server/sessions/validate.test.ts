import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isSessionId } from '../../../common/session-marker.ts';
import { validateCreateRequest } from '../../../server/sessions/validate.ts';

describe('session ids', () => {
  it('accepts only lower-case UUID v4', () => {
    expect(isSessionId(randomUUID())).toBe(true);
    for (const bad of [
      randomUUID().toUpperCase(),
      '../../etc/passwd',
      `${randomUUID()}/x`,
      '00000000-0000-1000-8000-000000000000',
      '',
    ]) {
      expect(isSessionId(bad), bad).toBe(false);
    }
  });
});

describe('create request validation', () => {
  const ok = { kind: 'exec', namespace: 'default', pod: 'web', command: ['sh'], tty: true, stdin: true };
  it('returns a typed request', () => {
    expect(validateCreateRequest({ ...ok, reason: 'why', ticket: '' })).toEqual({ ...ok, reason: 'why' });
  });
  it.each([
    [{ ...ok, command: [] }, /command must be a non-empty list/],
    [{ ...ok, namespace: 'Bad_NS' }, /not a valid namespace name/],
    [{ ...ok, pod: undefined }, /pod is required/],
    [{ ...ok, kind: 'shell' }, /kind must be/],
    [{ ...ok, container: 'a/b' }, /not a valid container name/],
    [{ kind: 'node-debug', command: ['sh'] }, /node is required/],
  ])('rejects %j', (body, message) => {
    expect(() => validateCreateRequest(body)).toThrow(message);
  });
});
