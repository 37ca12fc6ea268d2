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
import { SKIP, SUCCESS, unschedulable } from '../framework/types';
import { countMatching, hasAllTopologyKeys, nodeIncluded, POD_TOPOLOGY_SPREAD, type SpreadConstraint, spreadConstraints } from './topology-spread-constraints';

export const ERR_REASON_CONSTRAINTS_NOT_MATCH = "node(s) didn't match pod topology spread constraints";
export const ERR_REASON_NODE_LABEL_NOT_MATCH = `${ERR_REASON_CONSTRAINTS_NOT_MATCH} (missing required label)`;

interface PreFilterState {
  readonly constraints: readonly SpreadConstraint[];
  /** Per topology key: matching pods per domain (label value), domains with none included. */
  readonly domains: ReadonlyMap<string, ReadonlyMap<string, number>>;
  /** Per topology key: the smallest count over its domains (Kubernetes' critical path). */
  readonly minimum: ReadonlyMap<string, number>;
}

const STATE: StateKey<PreFilterState> = { name: 'PreFilterPodTopologySpread' };

function preFilter(pod: PodInfo, state: CycleState): Status {
  const constraints = spreadConstraints(pod, 'DoNotSchedule');
  if (constraints.length === 0) return SKIP;
  const domains = new Map<string, Map<string, number>>(constraints.map((c) => [c.topologyKey, new Map()]));
  const namespace = pod.pod.metadata?.namespace ?? '';
  for (const n of constraints.length > 0 ? state.nodes : []) {
    if (!hasAllTopologyKeys(n.node, constraints)) continue;
    for (const c of constraints) {
      if (!nodeIncluded(c, pod, n)) continue;
      const counts = domains.get(c.topologyKey);
      const value = n.node.metadata?.labels?.[c.topologyKey] ?? '';
      counts?.set(value, (counts.get(value) ?? 0) + countMatching(n, c.selector, namespace));
    }
  }
  const minimum = new Map([...domains].map(([key, counts]) => [key, Math.min(...counts.values())]));
  state.write(STATE, { constraints, domains, minimum });
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
    const counts = s.domains.get(c.topologyKey);
    // Fewer domains than minDomains: the global minimum counts as 0.
    const min = counts === undefined || counts.size < c.minDomains ? 0 : (s.minimum.get(c.topologyKey) ?? 0);
    const self = c.selector?.matches(podLabels) ? 1 : 0;
    const skew = (counts?.get(value) ?? 0) + self - min;
    if (skew > c.maxSkew) return unschedulable(ERR_REASON_CONSTRAINTS_NOT_MATCH);
  }
  return SUCCESS;
}

export const podTopologySpreadFilter: FilterPlugin = { name: POD_TOPOLOGY_SPREAD, preFilter, filter };
