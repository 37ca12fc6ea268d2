// Kubernetes' node selector terms (component-helpers' nodeaffinity): a term
// matches a node when every matchExpression holds for its labels and every
// matchField for its fields; a term with no requirement matches no node; a
// selector matches when any of its terms does.

import type { Node, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm } from '../../api/gen/tsk/v1/core';

/** Gt and Lt compare as integers; a value that is not one never matches (as Kubernetes' strconv.ParseInt failure). */
function integer(s: string): bigint | undefined {
  return /^[+-]?\d+$/.test(s) ? BigInt(s) : undefined;
}

/** One requirement against a map of (label or field) values. */
export function requirementHolds(rq: NodeSelectorRequirement, values: Readonly<Record<string, string>>): boolean {
  const key = rq.key ?? '';
  const present = Object.prototype.hasOwnProperty.call(values, key);
  const value = present ? values[key] : undefined;
  const wanted = rq.values ?? [];
  switch (rq.operator) {
    case 'In':
      return value !== undefined && wanted.includes(value);
    case 'NotIn':
      return value === undefined || !wanted.includes(value);
    case 'Exists':
      return present;
    case 'DoesNotExist':
      return !present;
    case 'Gt':
    case 'Lt': {
      const have = value === undefined ? undefined : integer(value);
      const bound = wanted.length === 1 ? integer(wanted[0] ?? '') : undefined;
      if (have === undefined || bound === undefined) return false;
      return rq.operator === 'Gt' ? have > bound : have < bound;
    }
    default:
      return false;
  }
}

/** The node's fields a matchFields requirement can name. */
const nodeFields = (node: Node): Record<string, string> => ({ 'metadata.name': node.metadata?.name ?? '' });

export function termMatches(term: NodeSelectorTerm | undefined, node: Node): boolean {
  const exprs = term?.matchExpressions ?? [];
  const fields = term?.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return false;
  const labels = node.metadata?.labels ?? {};
  return exprs.every((rq) => requirementHolds(rq, labels)) && fields.every((rq) => requirementHolds(rq, nodeFields(node)));
}

export function selectorMatches(selector: NodeSelector, node: Node): boolean {
  return (selector.nodeSelectorTerms ?? []).some((term) => termMatches(term, node));
}
