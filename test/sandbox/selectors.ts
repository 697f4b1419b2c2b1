// labelSelector / fieldSelector matching for list and watch: equality forms only (=, ==, !=, key,
// !key), the ones kubectl and the parts of this project use. Pure.

type Requirement = { key: string; op: 'eq' | 'ne' | 'exists' | 'absent'; value?: string };

export function parseSelector(s: string | null): Requirement[] {
  if (!s) return [];
  return s
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p): Requirement => {
      const ne = p.indexOf('!=');
      if (ne > 0) return { key: p.slice(0, ne), op: 'ne', value: p.slice(ne + 2) };
      const eq = p.indexOf('=');
      if (eq > 0) return { key: p.slice(0, eq), op: 'eq', value: p.slice(eq + (p[eq + 1] === '=' ? 2 : 1)) };
      if (p.startsWith('!')) return { key: p.slice(1), op: 'absent' };
      return { key: p, op: 'exists' };
    });
}

function matches(reqs: Requirement[], get: (key: string) => string | undefined): boolean {
  return reqs.every((r) => {
    const v = get(r.key);
    switch (r.op) {
      case 'eq':
        return v === r.value;
      case 'ne':
        return v !== r.value;
      case 'exists':
        return v !== undefined;
      default:
        return v === undefined;
    }
  });
}

export function labelsMatch(reqs: Requirement[], labels: Record<string, string> | undefined): boolean {
  return matches(reqs, (k) => labels?.[k]);
}

/** Field paths like metadata.name, spec.nodeName, status.phase. */
export function fieldsMatch(reqs: Requirement[], obj: Record<string, unknown>): boolean {
  return matches(reqs, (path) => {
    let cur: unknown = obj;
    for (const seg of path.split('.')) {
      if (typeof cur !== 'object' || cur === null) return undefined;
      cur = (cur as Record<string, unknown>)[seg];
    }
    return cur === undefined || cur === null ? (path === 'metadata.namespace' ? '' : undefined) : String(cur);
  });
}
