// kubectl get --sort-by (k8s.io/kubectl/pkg/cmd/get/sorter.go): the field is
// a JSONPath (".metadata.name" or "{.metadata.name}") into each object's JSON
// as kubectl sees it; numbers sort numerically, strings that are all
// quantities as quantities, other strings in natural order (digit runs by
// value, fvbommel/sortorder), so RFC 3339 times sort by time. Objects
// without the field sort first; a field no object has is an error.

import { tryParseQuantity } from '../../api/quantity';
import { CliError, UsageError } from '../errors';

/** One step of a field path: a key or an array index. */
type Step = string | number;

/** The path of a --sort-by expression, with the expression as kubectl names it ("{.metadata.name}"). */
export interface SortField {
  readonly expression: string;
  readonly steps: readonly Step[];
}

const RELAXED = /^\{\.?([^{}]+)\}$|^\.?([^{}]+)$/;

/**
 * Parses "{.a.b}", ".a.b", "a.b" (kubectl's RelaxedJSONPathExpression) into
 * steps: keys, [N] indexes, ['key'] and keys with escaped dots (a\.b).
 */
export function parseSortField(input: string): SortField {
  const m = RELAXED.exec(input);
  const spec = m?.[1] ?? m?.[2];
  if (spec === undefined)
    throw new UsageError(`--sort-by: unexpected path string, expected a 'name1.name2' or '.name1.name2' or '{name1.name2}' or '{.name1.name2}'`);
  const bad = (): UsageError =>
    new UsageError(`--sort-by: "${input}" is not a field path such as .metadata.name or {.status.containerStatuses[0].restartCount}`);
  const token = /\.((?:[^.[\]\\]|\\.)+)|\[(\d+)\]|\['([^']*)'\]/y;
  const steps: Step[] = [];
  // RELAXED took the leading dot off: put it back so every key step starts with one.
  const path = spec.startsWith('[') ? spec : `.${spec}`;
  for (let pos = 0; pos < path.length; pos = token.lastIndex) {
    token.lastIndex = pos;
    const t = token.exec(path);
    if (!t) throw bad();
    if (t[1] !== undefined) steps.push(t[1].replace(/\\(.)/g, '$1'));
    else if (t[2] !== undefined) steps.push(Number(t[2]));
    else steps.push(t[3] ?? '');
  }
  if (steps.length === 0) throw bad();
  return { expression: `{.${spec}}`, steps };
}

/** The value at the path, or undefined when a step is missing (kubectl's AllowMissingKeys). */
export function fieldValue(json: unknown, steps: readonly Step[]): unknown {
  let v: unknown = json;
  for (const step of steps) {
    if (typeof step === 'number') v = Array.isArray(v) ? v[step] : undefined;
    else v = v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>)[step] : undefined;
    if (v === undefined) return undefined;
  }
  return v;
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/** fvbommel/sortorder NaturalLess: digit runs compare by value and sort before other characters. */
export function naturalLess(a: string, b: string): boolean {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(j);
    const da = isDigit(ca);
    const db = isDigit(cb);
    if (da !== db) return da;
    if (!da) {
      if (ca !== cb) return ca < cb;
      i++;
      j++;
      continue;
    }
    while (i < a.length && a[i] === '0') i++;
    while (j < b.length && b[j] === '0') j++;
    const startA = i;
    const startB = j;
    while (i < a.length && isDigit(a.charCodeAt(i))) i++;
    while (j < b.length && isDigit(b.charCodeAt(j))) j++;
    if (i - startA !== j - startB) return i - startA < j - startB;
    const na = a.slice(startA, i);
    const nb = b.slice(startB, j);
    if (na !== nb) return na < nb;
    if (startA !== startB) return startA < startB;
  }
  return a.length < b.length;
}

const typeOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'object' ? 'map' : typeof v);

/** kubectl's isLess on decoded JSON; values of mixed or unsortable types are an error. */
function isLess(a: unknown, b: unknown, expression: string): boolean {
  if (a === null || b === null) return a === null && b !== null;
  if (typeof a === 'number' && typeof b === 'number') return a < b;
  if (typeof a === 'string' && typeof b === 'string') {
    const qa = tryParseQuantity(a);
    const qb = qa && tryParseQuantity(b);
    return qa && qb ? qa.cmp(qb) < 0 : naturalLess(a, b);
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let k = 0; k < Math.min(a.length, b.length); k++) if (!isLess(a[k], b[k], expression)) return false;
    return true;
  }
  const types = [...new Set([typeOf(a), typeOf(b)])].sort().join(' and ');
  throw new CliError(`field ${expression} is an unsortable type: ${types}`);
}

/**
 * Sorts objects by the field in their JSON form (stable; the input is not
 * changed). Fewer than two objects are returned as they are, as kubectl only
 * sorts lists of two or more rows.
 */
export function sortByField<T>(objs: readonly T[], field: SortField, toJson: (o: T) => unknown): T[] {
  if (objs.length < 2) return [...objs];
  const keyed = objs.map((o) => ({ o, v: fieldValue(toJson(o), field.steps) }));
  if (keyed.every((k) => k.v === undefined)) throw new CliError(`couldn't find any field with path "${field.expression}" in the list of objects`);
  const cmp = (x: unknown, y: unknown): number => {
    if (x === undefined) return y === undefined ? 0 : -1;
    if (y === undefined) return 1;
    if (isLess(x, y, field.expression)) return -1;
    return isLess(y, x, field.expression) ? 1 : 0;
  };
  return keyed.sort((x, y) => cmp(x.v, y.v)).map((k) => k.o);
}
