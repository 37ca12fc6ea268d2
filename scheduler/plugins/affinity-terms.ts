// Pod affinity terms as the scheduler matches them (Kubernetes'
// framework.AffinityTerm): the label selector with the term's
// matchLabelKeys/mismatchLabelKeys merged in from the owning pod's labels
// (what Kubernetes' API server does at creation), the namespaces it names
// (the owner's own when it names none and has no namespaceSelector), and
// the namespace selector. Parsed once per pod object.

import type { Pod, PodAffinityTerm, WeightedPodAffinityTerm } from '../../api/gen/tsk/v1/core';
import { LabelSelector, labelSelectorAsSelector, type Labels, type Requirement } from '../../api/labels';
import type { NamespaceView } from '../framework/types';

export interface AffinityTerm {
  /** undefined: the term's selector is unset and matches no pod. */
  readonly selector: LabelSelector | undefined;
  readonly namespaces: ReadonlySet<string>;
  /** undefined: unset (matches no namespace); an empty selector matches every namespace. */
  readonly namespaceSelector: LabelSelector | undefined;
  readonly topologyKey: string;
}

export interface WeightedAffinityTerm {
  readonly term: AffinityTerm;
  readonly weight: number;
}

export interface PodAffinityTerms {
  readonly requiredAffinity: readonly AffinityTerm[];
  readonly requiredAntiAffinity: readonly AffinityTerm[];
  readonly preferredAffinity: readonly WeightedAffinityTerm[];
  readonly preferredAntiAffinity: readonly WeightedAffinityTerm[];
}

/** The term's selector with `key in (v)` per matchLabelKey and `key notin (v)` per mismatchLabelKey the owner has as label. */
function termSelector(owner: Pod, term: PodAffinityTerm): LabelSelector | undefined {
  const base = labelSelectorAsSelector(term.labelSelector);
  if (base === undefined) return undefined;
  const labels = owner.metadata?.labels ?? {};
  const extra: Requirement[] = [];
  for (const key of term.matchLabelKeys ?? []) {
    const v = labels[key];
    if (v !== undefined) extra.push({ key, operator: 'in', values: [v] });
  }
  for (const key of term.mismatchLabelKeys ?? []) {
    const v = labels[key];
    if (v !== undefined) extra.push({ key, operator: 'notin', values: [v] });
  }
  return extra.length === 0 ? base : new LabelSelector([...base.requirements, ...extra]);
}

export function newAffinityTerm(owner: Pod, term: PodAffinityTerm | undefined): AffinityTerm {
  const t = term ?? {};
  const names = t.namespaces ?? [];
  const namespaces = names.length === 0 && t.namespaceSelector === undefined ? [owner.metadata?.namespace ?? ''] : names;
  return {
    selector: termSelector(owner, t),
    namespaces: new Set(namespaces),
    namespaceSelector: labelSelectorAsSelector(t.namespaceSelector),
    topologyKey: t.topologyKey ?? '',
  };
}

function weighted(owner: Pod, terms: readonly WeightedPodAffinityTerm[] | undefined): WeightedAffinityTerm[] {
  return (terms ?? []).map((w) => ({ term: newAffinityTerm(owner, w.podAffinityTerm), weight: w.weight ?? 0 }));
}

const cache = new WeakMap<Pod, PodAffinityTerms>();

/** The pod's parsed terms, memoized per pod object (informer objects are replaced, never mutated). */
export function podAffinityTerms(pod: Pod): PodAffinityTerms {
  let terms = cache.get(pod);
  if (!terms) {
    const a = pod.spec?.affinity;
    terms = {
      requiredAffinity: (a?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []).map((t) => newAffinityTerm(pod, t)),
      requiredAntiAffinity: (a?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []).map((t) => newAffinityTerm(pod, t)),
      preferredAffinity: weighted(pod, a?.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution),
      preferredAntiAffinity: weighted(pod, a?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution),
    };
    cache.set(pod, terms);
  }
  return terms;
}

/**
 * Kubernetes' AffinityTerm.Matches: the pod is in one of the term's
 * namespaces, or its namespace's labels (nsLabels) match the namespace
 * selector, and its labels match the selector.
 */
export function termMatches(term: AffinityTerm, pod: Pod, nsLabels: Labels | undefined): boolean {
  const inNamespace = term.namespaces.has(pod.metadata?.namespace ?? '') || (term.namespaceSelector?.matches(nsLabels ?? {}) ?? false);
  return inNamespace && (term.selector?.matches(pod.metadata?.labels ?? {}) ?? false);
}

/** Kubernetes' podMatchesAllAffinityTerms: at least one term, and the pod matches each (namespace selectors already merged). */
export function matchesAllTerms(terms: readonly AffinityTerm[], pod: Pod): boolean {
  return terms.length > 0 && terms.every((t) => termMatches(t, pod, undefined));
}

/**
 * Kubernetes' mergeAffinityTermNamespacesIfNotEmpty, for the incoming pod's
 * terms: a non-empty namespace selector becomes the names of the namespaces
 * it matches now, so existing pods are matched without looking up their
 * namespaces' labels. An empty selector (every namespace) stays.
 */
export function mergeNamespaces(term: AffinityTerm, namespaces: NamespaceView): AffinityTerm {
  const sel = term.namespaceSelector;
  if (sel === undefined || sel.empty()) return term;
  const names = new Set(term.namespaces);
  for (const ns of namespaces.list()) if (sel.matches(ns.labels)) names.add(ns.name);
  return { ...term, namespaces: names, namespaceSelector: undefined };
}
