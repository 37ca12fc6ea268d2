// Kubernetes field selectors: `spec.nodeName=node-1,status.phase!=Failed`.
//
// Terms are `field=value`, `field==value` or `field!=value`, joined by
// commas (AND). In values, `\,` `\=` and `\\` escape the three special
// characters, as Kubernetes' fields.EscapeValue does. Each kind supports a
// fixed set of fields (Kubernetes' per-kind field label conversion); any
// other field is refused with Kubernetes' words "field label not supported".

import type { KindName, KindObjects } from './kinds';
import type { ObjectMeta } from './gen/tsk/v1/meta';
import { errorMessage } from '../util/errors';

export type FieldOperator = '=' | '==' | '!=';

export interface FieldRequirement {
  readonly field: string;
  readonly operator: FieldOperator;
  /** Unescaped. */
  readonly value: string;
}

/** A field selector that does not parse or names a field the kind lacks. */
export class FieldSelectorParseError extends Error {
  constructor(
    readonly selector: string,
    detail: string,
  ) {
    super(detail);
    this.name = 'FieldSelectorParseError';
  }
}

type Extractor<T> = (obj: T) => string;
type FieldTable<T> = Readonly<Record<string, Extractor<T>>>;

function metaFields<T extends { metadata?: ObjectMeta | undefined }>(): FieldTable<T> {
  return {
    'metadata.name': (o) => o.metadata?.name ?? '',
    'metadata.namespace': (o) => o.metadata?.namespace ?? '',
  };
}

const bool = (b: boolean | undefined): string => (b ? 'true' : 'false');

/** The selectable fields of each kind and how to read them from an object. */
const FIELDS: { readonly [K in KindName]: FieldTable<KindObjects[K]> } = {
  Pod: {
    ...metaFields<KindObjects['Pod']>(),
    'spec.nodeName': (p) => p.spec?.nodeName ?? '',
    'spec.restartPolicy': (p) => p.spec?.restartPolicy ?? '',
    'spec.schedulerName': (p) => p.spec?.schedulerName ?? '',
    'spec.serviceAccountName': (p) => p.spec?.serviceAccountName ?? '',
    'spec.hostNetwork': (p) => bool(p.spec?.hostNetwork),
    'status.phase': (p) => p.status?.phase ?? '',
    'status.podIP': (p) => p.status?.podIP || p.status?.podIPs?.[0]?.ip || '',
    'status.nominatedNodeName': (p) => p.status?.nominatedNodeName ?? '',
  },
  ReplicationController: {
    ...metaFields<KindObjects['ReplicationController']>(),
    'status.replicas': (rc) => String(rc.status?.replicas ?? 0),
  },
  Service: {
    ...metaFields<KindObjects['Service']>(),
    'spec.clusterIP': (s) => s.spec?.clusterIP ?? '',
    'spec.type': (s) => s.spec?.type ?? '',
  },
  Endpoints: metaFields<KindObjects['Endpoints']>(),
  Node: {
    ...metaFields<KindObjects['Node']>(),
    'spec.unschedulable': (n) => bool(n.spec?.unschedulable),
  },
  Namespace: {
    ...metaFields<KindObjects['Namespace']>(),
    'status.phase': (n) => n.status?.phase ?? '',
  },
  Event: {
    ...metaFields<KindObjects['Event']>(),
    'involvedObject.kind': (e) => e.involvedObject?.kind ?? '',
    'involvedObject.namespace': (e) => e.involvedObject?.namespace ?? '',
    'involvedObject.name': (e) => e.involvedObject?.name ?? '',
    'involvedObject.uid': (e) => e.involvedObject?.uid ?? '',
    'involvedObject.apiVersion': (e) => e.involvedObject?.apiVersion ?? '',
    'involvedObject.resourceVersion': (e) => e.involvedObject?.resourceVersion ?? '',
    'involvedObject.fieldPath': (e) => e.involvedObject?.fieldPath ?? '',
    reason: (e) => e.reason ?? '',
    reportingComponent: (e) => e.reportingComponent ?? '',
    source: (e) => e.source?.component ?? '',
    type: (e) => e.type ?? '',
  },
  ConfigMap: metaFields<KindObjects['ConfigMap']>(),
  Secret: {
    ...metaFields<KindObjects['Secret']>(),
    type: (s) => s.type ?? '',
  },
  Lease: metaFields<KindObjects['Lease']>(),
};

/** The field names a kind's field selectors may use. */
export function supportedFields(kind: KindName): readonly string[] {
  return Object.keys(FIELDS[kind]);
}

/**
 * The value of a selectable field of an object ("" when unset; booleans as
 * "true"/"false"), or undefined when the kind does not support the field.
 */
export function fieldValue<K extends KindName>(kind: K, obj: KindObjects[K], field: string): string | undefined {
  const table = FIELDS[kind] as FieldTable<KindObjects[K]>;
  if (!Object.prototype.hasOwnProperty.call(table, field)) return undefined;
  return table[field]!(obj);
}

/** Escapes `\`, `,` and `=` in a value, as Kubernetes' fields.EscapeValue. */
export function escapeFieldValue(value: string): string {
  return value.replace(/[\\,=]/g, (c) => `\\${c}`);
}

function unescapeValue(value: string): string {
  if (!/[\\,=]/.test(value)) return value;
  let out = '';
  let inSlash = false;
  for (const c of value) {
    if (inSlash) {
      if (c !== '\\' && c !== ',' && c !== '=') {
        throw new Error(`invalid field selector: invalid escape sequence: \\${c}`);
      }
      out += c;
      inSlash = false;
    } else if (c === '\\') {
      inSlash = true;
    } else if (c === ',' || c === '=') {
      throw new Error(`invalid field selector: unescaped character in value: ${c}`);
    } else {
      out += c;
    }
  }
  if (inSlash) throw new Error('invalid field selector: invalid escape sequence: \\');
  return out;
}

/** Splits on commas not escaped by a backslash. */
function splitTerms(s: string): string[] {
  const terms: string[] = [];
  let start = 0;
  let inSlash = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (inSlash) inSlash = false;
    else if (c === '\\') inSlash = true;
    else if (c === ',') {
      terms.push(s.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(s.slice(start));
  return terms;
}

const OPERATORS: readonly FieldOperator[] = ['!=', '==', '='];

/** The leftmost operator of a term, as Kubernetes' splitTerm. */
function splitTerm(term: string): [string, FieldOperator, string] | undefined {
  for (let i = 0; i < term.length; i++) {
    for (const op of OPERATORS) {
      if (term.startsWith(op, i)) return [term.slice(0, i), op, term.slice(i + op.length)];
    }
  }
  return undefined;
}

function termString(r: FieldRequirement): string {
  return `${r.field}${r.operator === '!=' ? '!=' : '='}${escapeFieldValue(r.value)}`;
}

/** An AND of field requirements for one kind. Immutable. */
export class FieldSelector<K extends KindName> {
  readonly requirements: readonly FieldRequirement[];

  constructor(
    readonly kind: K,
    requirements: readonly FieldRequirement[],
  ) {
    this.requirements = [...requirements].sort((a, b) => {
      const x = termString(a);
      const y = termString(b);
      return x < y ? -1 : x > y ? 1 : 0;
    });
  }

  matches(obj: KindObjects[K]): boolean {
    return this.matchesValues((field) => fieldValue(this.kind, obj, field));
  }

  /** The same match with the values read by `valueOf` (e.g. from a cache that keeps some of them). */
  matchesValues(valueOf: (field: string) => string | undefined): boolean {
    for (const r of this.requirements) {
      const v = valueOf(r.field);
      const equal = v === r.value;
      if (r.operator === '!=' ? equal : !equal) return false;
    }
    return true;
  }

  empty(): boolean {
    return this.requirements.length === 0;
  }

  /** The value field must equal for a match (from `field=v`), or undefined. */
  requiresExactMatch(field: string): string | undefined {
    for (const r of this.requirements) {
      if (r.field === field && r.operator !== '!=') return r.value;
    }
    return undefined;
  }

  toString(): string {
    return this.requirements.map(termString).join(',');
  }
}

/**
 * Parses a field selector for a kind. Throws FieldSelectorParseError for a
 * term without an operator, a badly escaped value, or a field the kind does
 * not support ("field label not supported: spec.foo"). Empty selects all.
 */
export function parseFieldSelector<K extends KindName>(selector: string, kind: K): FieldSelector<K> {
  const requirements: FieldRequirement[] = [];
  for (const raw of splitTerms(selector)) {
    if (raw.trim() === '') {
      // Kubernetes skips empty terms ("a=b," is "a=b").
      continue;
    }
    const split = splitTerm(raw);
    if (!split) throw new FieldSelectorParseError(selector, `invalid selector: '${selector}'; can't understand '${raw}'`);
    const [lhs, operator, rhs] = split;
    const field = lhs.trim();
    if (field === '') throw new FieldSelectorParseError(selector, `invalid selector: '${selector}'; can't understand '${raw}'`);
    let value: string;
    try {
      value = unescapeValue(rhs.trim());
    } catch (err) {
      throw new FieldSelectorParseError(selector, errorMessage(err));
    }
    requirements.push({ field, operator, value });
  }
  // Syntax first, then the fields: a malformed selector is reported as such.
  for (const { field } of requirements) {
    if (!Object.prototype.hasOwnProperty.call(FIELDS[kind], field)) {
      throw new FieldSelectorParseError(selector, `field label not supported: ${field}`);
    }
  }
  return new FieldSelector(kind, requirements);
}
