// Semantic equality of API objects, as Kubernetes' apiequality.Semantic:
// an unset field equals its zero value. Objects reach the server decoded
// from JSON (unset = undefined) or from protobuf (unset = "", 0, false, []),
// and stored ones come back from protobuf, so plain deep equality would see
// changes where there are none.

function isZero(v: unknown): boolean {
  if (v === undefined || v === null || v === '' || v === 0 || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.values(v as Record<string, unknown>).every(isZero);
  return false;
}

/** Paths (a.b[0].c) where a and b differ semantically; at most `limit` of them. */
export function semanticDiff(a: unknown, b: unknown, path = '', limit = 20): string[] {
  const out: string[] = [];
  walk(a, b, path, out, limit);
  return out;
}

function walk(a: unknown, b: unknown, path: string, out: string[], limit: number): void {
  if (out.length >= limit) return;
  if (isZero(a) && isZero(b)) return;
  if (Array.isArray(a) || Array.isArray(b)) {
    const x = Array.isArray(a) ? a : [];
    const y = Array.isArray(b) ? b : [];
    if (x.length !== y.length) {
      out.push(path || '<root>');
      return;
    }
    for (let i = 0; i < x.length; i++) walk(x[i], y[i], `${path}[${i}]`, out, limit);
    return;
  }
  const objA = typeof a === 'object' && a !== null;
  const objB = typeof b === 'object' && b !== null;
  if (objA || objB) {
    if (!(objA || isZero(a)) || !(objB || isZero(b))) {
      out.push(path || '<root>');
      return;
    }
    const x = (objA ? a : {}) as Record<string, unknown>;
    const y = (objB ? b : {}) as Record<string, unknown>;
    const keys = new Set([...Object.keys(x), ...Object.keys(y)]);
    for (const k of [...keys].sort()) walk(x[k], y[k], path ? `${path}.${k}` : k, out, limit);
    return;
  }
  if (a !== b && !(isZero(a) && isZero(b))) out.push(path || '<root>');
}

export function semanticEqual(a: unknown, b: unknown): boolean {
  return semanticDiff(a, b, '', 1).length === 0;
}
