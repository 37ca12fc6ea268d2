import test from 'ava';
import type { Affinity, PodAffinityTerm } from '../../api/gen/tsk/v1/core';
import { findFeasibleNodes, fitErrorMessage } from '../framework/framework';
import { CycleState, type NodeInfo } from '../framework/types';
import { info, makeNode, makePod, podInfo } from '../testing';
import { interPodAffinityFilter } from './inter-pod-affinity';

const HOST = 'kubernetes.io/hostname';
const ZONE = 'topology.kubernetes.io/zone';

function node(name: string, zone: string, pods: ReturnType<typeof makePod>[] = []): NodeInfo {
  return info(makeNode(name, { labels: { [HOST]: name, [ZONE]: zone } }), pods);
}

function term(labels: Record<string, string>, topologyKey: string, extra: Partial<PodAffinityTerm> = {}): PodAffinityTerm {
  return { labelSelector: { matchLabels: labels }, topologyKey, ...extra };
}

const antiAffinity = (t: PodAffinityTerm): Affinity => ({ podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [t] } });
const affinity = (t: PodAffinityTerm): Affinity => ({ podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [t] } });

/** The names of the nodes the pod may go to, and the FitError message when none. */
function feasible(pod: ReturnType<typeof makePod>, nodes: NodeInfo[], state = new CycleState(nodes)): { names: string[]; message: string } {
  const out = findFeasibleNodes([interPodAffinityFilter], podInfo(pod), nodes, state);
  return { names: out.feasible.map((n) => n.name), message: fitErrorMessage(nodes.length, out.reasons) };
}

test('InterPodAffinity: required anti-affinity per hostname keeps the pod off nodes with a matching pod', (t) => {
  const mk = (name: string, nodeName = ''): ReturnType<typeof makePod> =>
    makePod(name, { labels: { app: 'web' }, nodeName, affinity: antiAffinity(term({ app: 'web' }, HOST)) });
  const nodes = [node('n1', 'a', [mk('w1', 'n1')]), node('n2', 'a', [mk('w2', 'n2')]), node('n3', 'b')];
  t.deepEqual(feasible(mk('w3'), nodes).names, ['n3']);
  const full = [node('n1', 'a', [mk('w1', 'n1')]), node('n2', 'a', [mk('w2', 'n2')])];
  t.is(feasible(mk('w3'), full).message, "0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules.");
});

test("InterPodAffinity: an existing pod's anti-affinity keeps away a pod without terms (symmetry)", (t) => {
  const guard = makePod('guard', { nodeName: 'n1', affinity: antiAffinity(term({ role: 'noisy' }, ZONE)) });
  const nodes = [node('n1', 'a', [guard]), node('n2', 'a'), node('n3', 'b')];
  const out = feasible(makePod('noisy', { labels: { role: 'noisy' } }), nodes);
  t.deepEqual(out.names, ['n3']);
  t.deepEqual(feasible(makePod('quiet', { labels: { role: 'quiet' } }), nodes).names, ['n1', 'n2', 'n3']);
  const zoneA = [node('n1', 'a', [guard]), node('n2', 'a')];
  t.is(
    feasible(makePod('noisy', { labels: { role: 'noisy' } }), zoneA).message,
    "0/2 nodes are available: 2 node(s) didn't satisfy existing pods anti-affinity rules.",
  );
});

test("InterPodAffinity: required affinity per zone needs a matching pod in the node's zone; nodes without the key fail", (t) => {
  const cache = makePod('cache', { labels: { app: 'cache' }, nodeName: 'n1' });
  const nodes = [node('n1', 'a', [cache]), node('n2', 'a'), node('n3', 'b'), info(makeNode('bare'))];
  const pod = makePod('web', { affinity: affinity(term({ app: 'cache' }, ZONE)) });
  const out = feasible(pod, nodes);
  t.deepEqual(out.names, ['n1', 'n2']);
  t.is(out.message, "0/4 nodes are available: 2 node(s) didn't match pod affinity rules.");
});

test('InterPodAffinity: the first pod of a self-attracting group may go anywhere with the key', (t) => {
  const nodes = [node('n1', 'a'), node('n2', 'b'), info(makeNode('bare'))];
  const pod = makePod('db-0', { labels: { app: 'db' }, affinity: affinity(term({ app: 'db' }, ZONE)) });
  t.deepEqual(feasible(pod, nodes).names, ['n1', 'n2']);
  // A pod that does not match its own terms is not the first of a group: it waits.
  const other = makePod('x', { labels: { app: 'x' }, affinity: affinity(term({ app: 'db' }, ZONE)) });
  t.deepEqual(feasible(other, nodes).names, []);
});

test("InterPodAffinity: terms match the owner's namespace unless namespaces or namespaceSelector say otherwise", (t) => {
  const elsewhere = makePod('w1', { labels: { app: 'web' }, nodeName: 'n1', namespace: 'prod' });
  const nodes = [node('n1', 'a', [elsewhere]), node('n2', 'b')];
  const own = makePod('w2', { labels: { app: 'web' }, affinity: antiAffinity(term({ app: 'web' }, HOST)) });
  t.deepEqual(feasible(own, nodes).names, ['n1', 'n2']);
  const named = makePod('w3', { affinity: antiAffinity(term({ app: 'web' }, HOST, { namespaces: ['prod'] })) });
  t.deepEqual(feasible(named, nodes).names, ['n2']);
  const namespaces = { labels: () => undefined, list: () => [{ name: 'prod', labels: { env: 'prod' } }] };
  const bySelector = makePod('w4', { affinity: antiAffinity(term({ app: 'web' }, HOST, { namespaceSelector: { matchLabels: { env: 'prod' } } })) });
  t.deepEqual(feasible(bySelector, nodes, new CycleState(nodes, namespaces)).names, ['n2']);
  const everywhere = makePod('w5', { affinity: antiAffinity(term({ app: 'web' }, HOST, { namespaceSelector: {} })) });
  t.deepEqual(feasible(everywhere, nodes).names, ['n2']);
});

test("InterPodAffinity: matchLabelKeys narrows the selector to pods sharing the owner's label value", (t) => {
  const v1 = makePod('a', { labels: { app: 'web', rev: '1' }, nodeName: 'n1' });
  const nodes = [node('n1', 'a', [v1]), node('n2', 'b')];
  const pod = makePod('b', { labels: { app: 'web', rev: '2' }, affinity: antiAffinity(term({ app: 'web' }, HOST, { matchLabelKeys: ['rev'] })) });
  t.deepEqual(feasible(pod, nodes).names, ['n1', 'n2']);
  const same = makePod('c', { labels: { app: 'web', rev: '1' }, affinity: antiAffinity(term({ app: 'web' }, HOST, { matchLabelKeys: ['rev'] })) });
  t.deepEqual(feasible(same, nodes).names, ['n2']);
});

test('InterPodAffinity: Filter without its PreFilter is a bug', (t) => {
  t.throws(() => interPodAffinityFilter.filter(podInfo(makePod('p')), node('n1', 'a'), new CycleState([])), { message: /without its PreFilter/ });
});
