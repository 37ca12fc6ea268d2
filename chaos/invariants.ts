// The invariant checkers: pure functions of a snapshot of the cluster (what
// the API lists, what each node's runtime runs), each returning the list of
// its violations. The snapshot is taken by observe.ts; the checks that need
// the network (the Service answers) live there.

import type { ConfigMap, Endpoints, Namespace, Node, Pod, ReplicationController, Service } from '../api/gen/tsk/v1/core';
import { isChaosNamespace } from './objects';
import { violation, type Violation } from './violation';

/** A container running on a node, with the pod its sandbox was made for. */
export interface NodeContainer {
  readonly node: string;
  readonly podUid: string;
  readonly pod: string;
  readonly container: string;
  readonly sandboxId: string;
}

export interface ClusterSnapshot {
  readonly pods: readonly Pod[];
  readonly rcs: readonly ReplicationController[];
  readonly services: readonly Service[];
  readonly endpoints: readonly Endpoints[];
  readonly namespaces: readonly Namespace[];
  readonly nodes: readonly Node[];
  /** The churn writer's ConfigMaps. */
  readonly configMaps: readonly ConfigMap[];
  /** Every running container of every node. */
  readonly containers: readonly NodeContainer[];
}

const podName = (p: Pod): string => `${p.metadata?.namespace ?? ''}/${p.metadata?.name ?? ''}`;
const terminating = (o: { metadata?: { deletionTimestamp?: unknown } | undefined }): boolean => !!o.metadata?.deletionTimestamp;

export function podReady(p: Pod): boolean {
  return p.status?.phase === 'Running' && (p.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

function labelsMatch(selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>> | undefined): boolean {
  const entries = Object.entries(selector);
  return entries.length > 0 && entries.every(([k, v]) => labels?.[k] === v);
}

function terminatingNamespaces(s: ClusterSnapshot): Set<string> {
  return new Set(s.namespaces.filter(terminating).map((n) => n.metadata?.name ?? ''));
}

/** Every lab node is registered and Ready (its agent runs and reaches a server). */
export function checkNodesReady(s: ClusterSnapshot, names: readonly string[]): Violation[] {
  return names.flatMap((name) => {
    const node = s.nodes.find((n) => n.metadata?.name === name);
    const ready = node?.status?.conditions?.find((c) => c.type === 'Ready');
    return ready?.status === 'True'
      ? []
      : [violation('machines', `node ${name} is not Ready (${node ? (ready?.reason ?? ready?.status ?? 'no Ready condition') : 'no Node object'})`)];
  });
}

/** Every RC of the workload has exactly spec.replicas pods, all Running and Ready. */
export function checkReplicas(s: ClusterSnapshot): Violation[] {
  const out: Violation[] = [];
  const gone = terminatingNamespaces(s);
  for (const rc of s.rcs) {
    const ns = rc.metadata?.namespace ?? '';
    if (!isChaosNamespace(ns) || gone.has(ns) || terminating(rc)) continue;
    const owned = s.pods.filter(
      (p) => !terminating(p) && p.metadata?.namespace === ns && (p.metadata.ownerReferences ?? []).some((r) => r.controller && r.uid === rc.metadata?.uid),
    );
    const want = rc.spec?.replicas ?? 1;
    const ready = owned.filter(podReady).length;
    if (owned.length !== want || ready !== want)
      out.push(violation('replicas', `rc ${ns}/${rc.metadata?.name ?? ''} wants ${want} replicas: ${owned.length} pod(s), ${ready} Running and Ready`));
  }
  return out;
}

/** No pod runs twice or on two nodes, and a pod the API calls Running runs on its node, with an IP. */
export function checkPodsOnNodes(s: ClusterSnapshot): Violation[] {
  const out: Violation[] = [];
  const byUid = new Map<string, NodeContainer[]>();
  for (const c of s.containers) byUid.set(c.podUid, [...(byUid.get(c.podUid) ?? []), c]);
  for (const [uid, cs] of byUid) {
    const nodes = [...new Set(cs.map((c) => c.node))];
    const sandboxes = [...new Set(cs.map((c) => `${c.node}/${c.sandboxId}`))];
    const pod = cs[0]?.pod ?? uid;
    if (nodes.length > 1) out.push(violation('pods-on-nodes', `pod ${pod} (uid ${uid}) runs on ${nodes.length} nodes: ${nodes.join(', ')}`));
    else if (sandboxes.length > 1)
      out.push(violation('pods-on-nodes', `pod ${pod} (uid ${uid}) runs twice on ${nodes[0] ?? '?'}: sandboxes ${sandboxes.join(', ')}`));
  }
  for (const p of s.pods) {
    if (p.status?.phase !== 'Running' || terminating(p)) continue;
    const node = p.spec?.nodeName ?? '';
    if (!(byUid.get(p.metadata?.uid ?? '') ?? []).some((c) => c.node === node))
      out.push(violation('pods-on-nodes', `pod ${podName(p)} is Running in the API but no container of it runs on its node ${node || '(none)'}`));
    if (!p.status.podIP) out.push(violation('pods-on-nodes', `pod ${podName(p)} is Running on ${node} without an IP`));
  }
  return out;
}

/** No container runs on a node without a pod object bound to that node. */
export function checkOrphanContainers(s: ClusterSnapshot): Violation[] {
  const pods = new Map(s.pods.map((p) => [p.metadata?.uid ?? '', p]));
  const out: Violation[] = [];
  for (const c of s.containers) {
    const pod = pods.get(c.podUid);
    if (!pod)
      out.push(violation('orphan-containers', `container ${c.container} of pod ${c.pod} (uid ${c.podUid}) runs on ${c.node} but the pod does not exist`));
    else if (pod.spec?.nodeName !== c.node)
      out.push(
        violation(
          'orphan-containers',
          `container ${c.container} of pod ${c.pod} runs on ${c.node} but the pod is bound to ${pod.spec?.nodeName || '(no node)'}`,
        ),
      );
  }
  return out;
}

/** The IPs of the Ready, not terminating pods a Service selects. */
export function readyPodIps(svc: Service, pods: readonly Pod[]): string[] {
  const selector = svc.spec?.selector ?? {};
  return pods
    .filter((p) => p.metadata?.namespace === svc.metadata?.namespace && !terminating(p) && labelsMatch(selector, p.metadata?.labels) && podReady(p))
    .map((p) => p.status?.podIP ?? '')
    .filter((ip) => ip !== '')
    .sort();
}

/** Every workload Service's Endpoints lists exactly the IPs of its ready pods. */
export function checkEndpoints(s: ClusterSnapshot): Violation[] {
  const out: Violation[] = [];
  const gone = terminatingNamespaces(s);
  for (const svc of s.services) {
    const ns = svc.metadata?.namespace ?? '';
    if (!isChaosNamespace(ns) || gone.has(ns) || terminating(svc)) continue;
    const name = `${ns}/${svc.metadata?.name ?? ''}`;
    const want = readyPodIps(svc, s.pods);
    const ep = s.endpoints.find((e) => e.metadata?.namespace === ns && e.metadata.name === svc.metadata?.name);
    const got = (ep?.subsets ?? []).flatMap((sub) => (sub.addresses ?? []).map((a) => a.ip ?? '')).sort();
    if (want.join(',') !== got.join(','))
      out.push(
        violation('endpoints', `service ${name}: endpoints [${got.join(', ')}], its ready pods [${want.join(', ')}]${ep ? '' : ' (no Endpoints object)'}`),
      );
  }
  return out;
}

/** Every pure check of a snapshot. */
export function checkSnapshot(s: ClusterSnapshot): Violation[] {
  return [...checkReplicas(s), ...checkPodsOnNodes(s), ...checkOrphanContainers(s), ...checkEndpoints(s)];
}
