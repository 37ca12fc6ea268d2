// Runs a profile's plugins for one pod: every PreFilter once, then every
// Filter on every node (the first failing plugin decides a node's reasons,
// as in Kubernetes; a failing PreFilter gives its reasons to every node), the
// weighted sum of the Scores over the feasible nodes, and the choice of the
// best node with ties broken by the injected random source. A plugin that
// throws is a bug: it becomes an Error status naming plugin and node.

import { errorMessage } from '../../util/errors';
import type { FilterPlugin, NodeInfo, PodInfo, Status, WeightedScorePlugin } from './types';
import { CycleState, errorStatus } from './types';
import { combineQuickChecks, type NodeTable, type QuickCheck } from './node-table';

export interface FilterOutcome {
  readonly feasible: NodeInfo[];
  /** The feasible nodes' indices in `nodes` (their NodeTable rows), in the same order. */
  readonly rows: number[];
  /** How many nodes were filtered (feasible or not) before the search stopped. */
  readonly processed: number;
  /** How many nodes failed for each reason. */
  readonly reasons: Map<string, number>;
  /** Set when a plugin failed to answer: the cycle ends with an error. */
  readonly error?: string;
}

/** The first non-success status of the filters on one node, or undefined when the pod fits. */
export function runFilters(filters: readonly FilterPlugin[], pod: PodInfo, node: NodeInfo, state: CycleState): Status | undefined {
  for (const f of filters) {
    let status: Status;
    try {
      status = f.filter(pod, node, state);
    } catch (err) {
      return errorStatus(`running Filter plugin "${f.name}" on node "${node.name}": ${errorMessage(err)}`);
    }
    if (status.code !== 'Success') return status;
  }
  return undefined;
}

/** The first failing status of the PreFilters, or the filters left to run on each node (those whose PreFilter did not answer SKIP). */
export function runPreFilters(filters: readonly FilterPlugin[], pod: PodInfo, state: CycleState): Status | FilterPlugin[] {
  const active: FilterPlugin[] = [];
  for (const f of filters) {
    if (!f.preFilter) {
      active.push(f);
      continue;
    }
    let status: Status;
    try {
      status = f.preFilter(pod, state);
    } catch (err) {
      return errorStatus(`running PreFilter plugin "${f.name}": ${errorMessage(err)}`);
    }
    if (status.code === 'Skip') continue;
    if (status.code !== 'Success') return status;
    active.push(f);
  }
  return active;
}

/** Where the feasibility search starts and how many feasible nodes end it (percentageOfNodesToScore). */
export interface SearchWindow {
  /** Index of the first node to filter; the search wraps around. */
  readonly start: number;
  /** Stop once this many feasible nodes are found. */
  readonly want: number;
}

/** The active filters' quick checks as one, or undefined when one of them has none for this pod. */
function quickCheckOf(active: readonly FilterPlugin[], pod: PodInfo): QuickCheck | undefined {
  const checks: QuickCheck[] = [];
  for (const f of active) {
    const c = f.quickCheck?.(pod);
    if (!c) return undefined;
    checks.push(c);
  }
  return combineQuickChecks(checks);
}

/**
 * Filters the nodes from window.start on, wrapping around, until
 * window.want of them are feasible or every node was tried (Kubernetes'
 * findNodesThatPassFilters); state carries the PreFilters' results. With
 * `table` (the rows of `nodes`, same order), the rows are tested first
 * when every active filter offers a quick check.
 */
export function findFeasibleNodes(
  filters: readonly FilterPlugin[],
  pod: PodInfo,
  nodes: readonly NodeInfo[],
  state: CycleState = new CycleState(nodes),
  window: SearchWindow = { start: 0, want: nodes.length },
  table?: NodeTable,
): FilterOutcome {
  const feasible: NodeInfo[] = [];
  const rows: number[] = [];
  const reasons = new Map<string, number>();
  const pre = runPreFilters(filters, pod, state);
  if (!Array.isArray(pre)) {
    if (pre.code === 'Error') return { feasible: [], rows: [], processed: 0, reasons, error: pre.reasons.join('; ') };
    for (const r of pre.reasons) reasons.set(r, nodes.length);
    return { feasible, rows, processed: nodes.length, reasons };
  }
  const n = nodes.length;
  const quick = table ? quickCheckOf(pre, pod) : undefined;
  let processed = 0;
  for (; processed < n && feasible.length < window.want; processed++) {
    const i = (window.start + processed) % n;
    const node = nodes[i] as NodeInfo;
    // A node whose row passes every active filter's quick check is feasible without calling them.
    if (quick && table!.passes(i, quick)) {
      feasible.push(node);
      rows.push(i);
      continue;
    }
    const status = runFilters(pre, pod, node, state);
    if (!status) {
      feasible.push(node);
      rows.push(i);
      continue;
    }
    if (status.code === 'Error') return { feasible: [], rows: [], processed, reasons, error: status.reasons.join('; ') };
    for (const r of status.reasons) reasons.set(r, (reasons.get(r) ?? 0) + 1);
  }
  return { feasible, rows, processed, reasons };
}

/**
 * Weighted total score of each node, in the order given (a plugin whose
 * PreScore says SKIP adds 0). With `table` (the nodes' rows), plugins with
 * scoreRows read the table. Throws (a bug) naming the plugin.
 */
export function scoreNodes(
  scores: readonly WeightedScorePlugin[],
  pod: PodInfo,
  nodes: readonly NodeInfo[],
  state: CycleState = new CycleState(nodes),
  table?: { readonly table: NodeTable; readonly rows: readonly number[] },
): number[] {
  const totals = new Array<number>(nodes.length).fill(0);
  for (const { plugin, weight } of scores) {
    let s: number[];
    try {
      if (plugin.preScore?.(pod, state).code === 'Skip') continue;
      s = (table && plugin.scoreRows?.(pod, table.rows, table.table)) ?? plugin.score(pod, nodes, state);
    } catch (err) {
      throw new Error(`running Score plugin "${plugin.name}": ${errorMessage(err)}`, { cause: err });
    }
    if (s.length !== nodes.length) throw new Error(`Score plugin "${plugin.name}" returned ${s.length} scores for ${nodes.length} nodes`);
    for (let i = 0; i < s.length; i++) totals[i] = (totals[i] ?? 0) + (s[i] ?? 0) * weight;
  }
  return totals;
}

/** Index of the highest score; among equal best, one chosen uniformly with random() in [0, 1). */
export function selectHost(totals: readonly number[], random: () => number): number {
  let best = -Infinity;
  let ties: number[] = [];
  totals.forEach((v, i) => {
    if (v > best) {
      best = v;
      ties = [i];
    } else if (v === best) ties.push(i);
  });
  if (ties.length === 0) throw new Error('invariant: selectHost called with no nodes');
  const pick = Math.min(ties.length - 1, Math.floor(random() * ties.length));
  return ties[pick] ?? 0;
}

/** Kubernetes' message when no node has been registered. */
export const ERR_NO_NODES_AVAILABLE = 'no nodes available to schedule pods';

/**
 * Kubernetes' FitError message: "0/3 nodes are available: 1 Insufficient cpu,
 * 2 node(s) had untolerated taint {node.kubernetes.io/not-ready: }." with the
 * "count reason" entries sorted as strings.
 */
export function fitErrorMessage(numNodes: number, reasons: ReadonlyMap<string, number>): string {
  const entries = [...reasons].map(([reason, count]) => `${count} ${reason}`).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return `0/${numNodes} nodes are available: ${entries.join(', ')}.`;
}
