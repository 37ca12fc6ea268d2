// Kubernetes' validation of spec.affinity.nodeAffinity (ValidateNodeSelector,
// ValidateNodeSelectorTerm, ValidateNodeSelectorRequirement,
// ValidateNodeFieldSelectorRequirement, ValidatePreferredSchedulingTerms):
// the same operators, paths and messages; pod (anti-)affinity in pod-affinity.ts.

import type { Cause } from '../../api/errors';
import type { Affinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, PreferredSchedulingTerm } from '../../api/gen/tsk/v1/core';
import { isDNS1123Subdomain, isQualifiedName, validateLabelValue } from '../../api/labels';
import { forbidden, invalid, invalidEach, type Path, required } from './field';
import { validatePodAffinity } from './pod-affinity';

/** The node fields a matchFields requirement may name, with the check of each value (Kubernetes' nodeFieldSelectorValidators). */
const NODE_FIELD_VALIDATORS: Readonly<Record<string, (v: string) => string[]>> = { 'metadata.name': isDNS1123Subdomain };

function validateRequirement(rq: NodeSelectorRequirement, path: Path): Cause[] {
  const errs: Cause[] = [];
  const values = rq.values ?? [];
  const op = rq.operator ?? '';
  switch (op) {
    case 'In':
    case 'NotIn':
      if (values.length === 0) errs.push(required(path.child('values'), "must be specified when `operator` is 'In' or 'NotIn'"));
      values.forEach((v, i) => errs.push(...invalidEach(path.child('values').index(i), v, validateLabelValue(v))));
      break;
    case 'Exists':
    case 'DoesNotExist':
      if (values.length > 0) errs.push(forbidden(path.child('values'), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
      break;
    case 'Gt':
    case 'Lt':
      if (values.length !== 1) errs.push(required(path.child('values'), "must be specified single value when `operator` is 'Lt' or 'Gt'"));
      break;
    default:
      errs.push(invalid(path.child('operator'), op, 'not a valid selector operator'));
  }
  errs.push(...invalidEach(path.child('key'), rq.key ?? '', isQualifiedName(rq.key ?? '')));
  return errs;
}

function validateFieldRequirement(rq: NodeSelectorRequirement, path: Path): Cause[] {
  const errs: Cause[] = [];
  const values = rq.values ?? [];
  const op = rq.operator ?? '';
  if (op === 'In' || op === 'NotIn') {
    if (values.length !== 1) errs.push(required(path.child('values'), "must be only one value when `operator` is 'In' or 'NotIn' for node field selector"));
  } else {
    errs.push(invalid(path.child('operator'), op, 'not a valid selector operator'));
  }
  const check = NODE_FIELD_VALIDATORS[rq.key ?? ''];
  if (check === undefined) errs.push(invalid(path.child('key'), rq.key ?? '', 'not a valid field selector key'));
  else values.forEach((v, i) => errs.push(...invalidEach(path.child('values').index(i), v, check(v))));
  return errs;
}

function validateTerm(term: NodeSelectorTerm | undefined, path: Path): Cause[] {
  const errs: Cause[] = [];
  (term?.matchExpressions ?? []).forEach((rq, i) => errs.push(...validateRequirement(rq, path.child('matchExpressions').index(i))));
  (term?.matchFields ?? []).forEach((rq, i) => errs.push(...validateFieldRequirement(rq, path.child('matchFields').index(i))));
  return errs;
}

function validateNodeSelector(selector: NodeSelector, path: Path): Cause[] {
  const terms = selector.nodeSelectorTerms ?? [];
  const termsPath = path.child('nodeSelectorTerms');
  if (terms.length === 0) return [required(termsPath, 'must have at least one node selector term')];
  return terms.flatMap((term, i) => validateTerm(term, termsPath.index(i)));
}

function validatePreferred(terms: readonly PreferredSchedulingTerm[], path: Path): Cause[] {
  return terms.flatMap((term, i) => {
    const p = path.index(i);
    const weight = term.weight ?? 0;
    const errs = weight <= 0 || weight > 100 ? [invalid(p.child('weight'), weight, 'must be in the range 1-100')] : [];
    return [...errs, ...validateTerm(term.preference, p.child('preference'))];
  });
}

/** Kubernetes' validateAffinity: node affinity, pod affinity and pod anti-affinity. */
export function validateAffinity(affinity: Affinity | undefined, path: Path): Cause[] {
  const errs = [
    ...validatePodAffinity(affinity?.podAffinity, path.child('podAffinity')),
    ...validatePodAffinity(affinity?.podAntiAffinity, path.child('podAntiAffinity')),
  ];
  const na = affinity?.nodeAffinity;
  if (na === undefined) return errs;
  const p = path.child('nodeAffinity');
  const req = na.requiredDuringSchedulingIgnoredDuringExecution;
  if (req !== undefined) errs.push(...validateNodeSelector(req, p.child('requiredDuringSchedulingIgnoredDuringExecution')));
  errs.push(...validatePreferred(na.preferredDuringSchedulingIgnoredDuringExecution ?? [], p.child('preferredDuringSchedulingIgnoredDuringExecution')));
  return errs;
}
