// PodTopologySpread's Filter (Kubernetes' podtopologyspread/filtering.go),
// for the DoNotSchedule constraints. PreFilter counts once per cycle, over
// every node that has all the constraints' topology keys and passes each
// constraint's node inclusion policies, the matching pods per domain
// (topology pair) and keeps each topology key's smallest count (the
// critical path) and number of domains. Filter is then O(constraints):
// placing the pod in the node's domain must keep
//   count(domain) + (1 if the pod matches its own selector) - min
// within maxSkew, where min counts as 0 while there are fewer domains than
// minDomains.

import type { CycleState, FilterPlugin, NodeInfo, PodInfo, StateKey, Status } from '../framework/types';
import { SUCCESS, unschedulable } from '../framework/types';
import { pairKey } from './inter-pod-affinity';
import { countMatching, hasAllTopologyKeys, nodeIncluded, POD_TOPOLOGY_SPREAD, type SpreadConstraint, spreadConstraints } from './topology-spread-constraints';

export const ERR_REASON_CONSTRAINTS_NOT_MATCH = "node(s) didn't match pod topology spread constraints";
export const ERR_REASON_NODE_LABEL_NOT_MATCH = `${ERR_REASON_CONSTRAINTS_NOT_MATCH} (missing required label)`;

interface PreFilterState {
  readonly constraints: readonly SpreadConstraint[];
  /** Matching pods per topology pair (pairKey), domains with none included. */
  readonly pairCounts: ReadonlyMap<string, number>;
  /** Per topology key: the smallest count over its domains and how many domains it has. */
  readonly byKey: ReadonlyMap<string, { readonly min: number; readonly domains: number }>;
}

const STATE: StateKey<PreFilterState> = { name: 'PreFilterPodTopologySpread' };

function preFilter(pod: PodInfo, state: CycleState): Status {
  const constraints = spreadConstraints(pod, 'DoNotSchedule');
  const pairCounts = new Map<string, number>();
  const byKey = new Map<string, { min: number; domains: number }>();
  if (constraints.length > 0) {
    const namespace = pod.pod.metadata?.namespace ?? '';
    for (const n of state.nodes) {
      if (!hasAllTopologyKeys(n.node, constraints)) continue;
      for (const c of constraints) {
        if (!nodeIncluded(c, pod, n)) continue;
        const k = pairKey(c.topologyKey, n.node.metadata?.labels?.[c.topologyKey] ?? '');
        pairCounts.set(k, (pairCounts.get(k) ?? 0) + countMatching(n, c.selector, namespace));
      }
    }
    for (const [k, count] of pairCounts) {
      const key = k.slice(0, k.indexOf('\0'));
      const cur = byKey.get(key);
      byKey.set(key, cur ? { min: Math.min(cur.min, count), domains: cur.domains + 1 } : { min: count, domains: 1 });
    }
  }
  state.write(STATE, { constraints, pairCounts, byKey });
  return SUCCESS;
}

function filter(pod: PodInfo, node: NodeInfo, state?: CycleState): Status {
  const s = state?.read(STATE);
  if (!s) throw new Error('invariant: PodTopologySpread Filter ran without its PreFilter');
  const labels = node.node.metadata?.labels ?? {};
  const podLabels = pod.pod.metadata?.labels ?? {};
  for (const c of s.constraints) {
    const value = labels[c.topologyKey];
    if (value === undefined) return unschedulable(ERR_REASON_NODE_LABEL_NOT_MATCH);
    const key = s.byKey.get(c.topologyKey);
    const min = key === undefined || key.domains < c.minDomains ? 0 : key.min;
    const self = c.selector?.matches(podLabels) ? 1 : 0;
    const skew = (s.pairCounts.get(pairKey(c.topologyKey, value)) ?? 0) + self - min;
    if (skew > c.maxSkew) return unschedulable(ERR_REASON_CONSTRAINTS_NOT_MATCH);
  }
  return SUCCESS;
}

export const podTopologySpreadFilter: FilterPlugin = { name: POD_TOPOLOGY_SPREAD, preFilter, filter };
