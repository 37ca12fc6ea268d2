// Kubernetes' validation of spec.affinity.podAffinity/podAntiAffinity
// (validatePodAffinityTerm, validateWeightedPodAffinityTerms,
// validateMatchLabelKeysAndMismatchLabelKeys) and of
// spec.topologySpreadConstraints (validateTopologySpreadConstraints): the
// same paths and messages.

import type { Cause } from '../../api/errors';
import type { LabelSelector, PodAffinity, PodAffinityTerm, TopologySpreadConstraint, WeightedPodAffinityTerm } from '../../api/gen/tsk/v1/core';
import { isDNS1123Label, isQualifiedName } from '../../api/labels';
import { duplicate, forbidden, invalid, invalidEach, notSupported, type Path, required } from './field';
import { validateLabelSelector } from './meta';

/** Kubernetes' isNotPositiveErrorMsg. */
const NOT_POSITIVE = 'must be greater than zero';
const WHEN_UNSATISFIABLE = ['DoNotSchedule', 'ScheduleAnyway'];
const NODE_INCLUSION_POLICIES = ['Honor', 'Ignore'];

function labelKeys(keys: readonly string[], selector: LabelSelector | undefined, path: Path): Cause[] {
  if (keys.length === 0) return [];
  if (selector === undefined) return [forbidden(path, 'must not be specified when labelSelector is not set')];
  return keys.flatMap((k, i) => invalidEach(path.index(i), k, isQualifiedName(k)));
}

function matchAndMismatchLabelKeys(term: PodAffinityTerm, path: Path): Cause[] {
  const match = term.matchLabelKeys ?? [];
  const mismatch = new Set(term.mismatchLabelKeys ?? []);
  const errs = [
    ...labelKeys(match, term.labelSelector, path.child('matchLabelKeys')),
    ...labelKeys([...mismatch], term.labelSelector, path.child('mismatchLabelKeys')),
  ];
  match.forEach((k, i) => {
    if (mismatch.has(k)) errs.push(invalid(path.child('matchLabelKeys').index(i), k, 'exists in both matchLabelKeys and mismatchLabelKeys'));
  });
  return errs;
}

function validateTerm(term: PodAffinityTerm | undefined, path: Path): Cause[] {
  const t = term ?? {};
  const errs = [
    ...validateLabelSelector(t.labelSelector, path.child('labelSelector')),
    ...validateLabelSelector(t.namespaceSelector, path.child('namespaceSelector')),
  ];
  for (const ns of t.namespaces ?? []) errs.push(...invalidEach(path.child('namespace'), ns, isDNS1123Label(ns)));
  errs.push(...matchAndMismatchLabelKeys(t, path));
  const key = t.topologyKey ?? '';
  if (key === '') errs.push(required(path.child('topologyKey'), 'can not be empty'));
  return [...errs, ...invalidEach(path.child('topologyKey'), key, isQualifiedName(key))];
}

function validateWeighted(terms: readonly WeightedPodAffinityTerm[], path: Path): Cause[] {
  return terms.flatMap((term, i) => {
    const p = path.index(i);
    const weight = term.weight ?? 0;
    const errs = weight <= 0 || weight > 100 ? [invalid(p.child('weight'), weight, 'must be in the range 1-100')] : [];
    return [...errs, ...validateTerm(term.podAffinityTerm, p.child('podAffinityTerm'))];
  });
}

/** Kubernetes' validatePodAffinity and validatePodAntiAffinity (the same rules). */
export function validatePodAffinity(affinity: PodAffinity | undefined, path: Path): Cause[] {
  if (affinity === undefined) return [];
  const req = path.child('requiredDuringSchedulingIgnoredDuringExecution');
  return [
    ...(affinity.requiredDuringSchedulingIgnoredDuringExecution ?? []).flatMap((t, i) => validateTerm(t, req.index(i))),
    ...validateWeighted(affinity.preferredDuringSchedulingIgnoredDuringExecution ?? [], path.child('preferredDuringSchedulingIgnoredDuringExecution')),
  ];
}

/** Kubernetes' validateMatchLabelKeysInTopologySpread: valid names, not also keys of labelSelector. */
function spreadMatchLabelKeys(keys: readonly string[], selector: LabelSelector | undefined, path: Path): Cause[] {
  if (keys.length === 0) return [];
  const errs = selector === undefined ? [forbidden(path, 'must not be specified when labelSelector is not set')] : [];
  const inSelector = new Set([...Object.keys(selector?.matchLabels ?? {}), ...(selector?.matchExpressions ?? []).map((e) => e.key ?? '')]);
  keys.forEach((k, i) => {
    errs.push(...invalidEach(path.index(i), k, isQualifiedName(k)));
    if (inSelector.has(k)) errs.push(invalid(path.index(i), k, 'exists in both matchLabelKeys and labelSelector'));
  });
  return errs;
}

function validateConstraint(c: TopologySpreadConstraint, rest: readonly TopologySpreadConstraint[], path: Path): Cause[] {
  const errs: Cause[] = [];
  const maxSkew = c.maxSkew ?? 0;
  if (maxSkew <= 0) errs.push(invalid(path.child('maxSkew'), maxSkew, NOT_POSITIVE));
  const key = c.topologyKey ?? '';
  if (key === '') errs.push(required(path.child('topologyKey'), 'can not be empty'));
  const when = c.whenUnsatisfiable ?? '';
  if (!WHEN_UNSATISFIABLE.includes(when)) errs.push(notSupported(path.child('whenUnsatisfiable'), when, WHEN_UNSATISFIABLE));
  // The pair {topologyKey, whenUnsatisfiable} names one kind of constraint.
  if (rest.some((o) => (o.topologyKey ?? '') === key && (o.whenUnsatisfiable ?? '') === when)) {
    errs.push(duplicate(path.child('{topologyKey, whenUnsatisfiable}'), `{${key}, ${when}}`));
  }
  if (c.minDomains !== undefined && c.minDomains !== null) {
    if (c.minDomains <= 0) errs.push(invalid(path.child('minDomains'), c.minDomains, NOT_POSITIVE));
    if (when !== 'DoNotSchedule')
      errs.push(invalid(path.child('minDomains'), c.minDomains, `can only use minDomains if whenUnsatisfiable=DoNotSchedule, not ${when}`));
  }
  for (const field of ['nodeAffinityPolicy', 'nodeTaintsPolicy'] as const) {
    const policy = c[field] ?? '';
    if (policy !== '' && !NODE_INCLUSION_POLICIES.includes(policy)) errs.push(notSupported(path.child(field), policy, NODE_INCLUSION_POLICIES));
  }
  errs.push(...spreadMatchLabelKeys(c.matchLabelKeys ?? [], c.labelSelector, path.child('matchLabelKeys')));
  return [...errs, ...validateLabelSelector(c.labelSelector, path.child('labelSelector'))];
}

/** Kubernetes' validateTopologySpreadConstraints. */
export function validateTopologySpreadConstraints(constraints: readonly TopologySpreadConstraint[], path: Path): Cause[] {
  return constraints.flatMap((c, i) => validateConstraint(c, constraints.slice(i + 1), path.index(i)));
}
