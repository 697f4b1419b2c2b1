// Full-text search over what the store holds for a session (command, reason, ticket, where, who).
// Attributed commands (shim events) are searched too when the events source offers it. Pure.
import type { SessionRecord } from '../../common/wire.ts';

export function sessionText(s: SessionRecord): string {
  return [
    s.command.join(' '),
    s.reason,
    s.ticket,
    s.user,
    s.namespace,
    s.pod,
    s.container,
    s.node,
    s.image,
    s.id,
  ]
    .filter(Boolean)
    .join('\n')
    .toLowerCase();
}

/** Every whitespace-separated term must occur (AND), case-insensitively. */
export function searchTerms(q: string | undefined): string[] {
  return (q ?? '').toLowerCase().split(/\s+/).filter(Boolean).slice(0, 10);
}

export function matchesAll(text: string, terms: readonly string[]): boolean {
  return terms.every((t) => text.includes(t));
}
