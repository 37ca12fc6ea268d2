import test from 'ava';
import { DEFAULT_FILTERS } from '../plugins';
import { info, makeNode, makePod, podInfo } from '../testing';
import { findFeasibleNodes, fitErrorMessage, scoreNodes, selectHost } from './framework';
import type { FilterPlugin, ScorePlugin } from './types';
import { CycleState, SKIP, SUCCESS, unschedulable } from './types';

test('fitErrorMessage: Kubernetes wording, "count reason" entries sorted', (t) => {
  const reasons = new Map([
    ['node(s) had untolerated taint {node.kubernetes.io/not-ready: }', 2],
    ['Insufficient cpu', 1],
  ]);
  t.is(fitErrorMessage(3, reasons), '0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint {node.kubernetes.io/not-ready: }.');
});

test('findFeasibleNodes: counts every reason of every failing node', (t) => {
  const nodes = [
    info(makeNode('small', { cpu: '1', memory: '1Gi' })),
    info(makeNode('tainted', { taints: [{ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }] })),
    info(makeNode('cordoned', { unschedulable: true })),
    info(makeNode('big', { cpu: '8', memory: '16Gi' })),
  ];
  const out = findFeasibleNodes(DEFAULT_FILTERS, podInfo(makePod('p', { cpu: '2', memory: '2Gi' })), nodes);
  t.deepEqual(
    out.feasible.map((n) => n.name),
    ['big'],
  );
  t.is(
    fitErrorMessage(4, out.reasons),
    '0/4 nodes are available: 1 Insufficient cpu, 1 Insufficient memory, 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, 1 node(s) were unschedulable.',
  );
});

test('findFeasibleNodes: a throwing filter is an error naming plugin and node', (t) => {
  const broken: FilterPlugin = {
    name: 'Broken',
    filter: () => {
      throw new Error('boom');
    },
  };
  const out = findFeasibleNodes([broken], podInfo(makePod('p')), [info(makeNode('n1'))]);
  t.is(out.error, 'running Filter plugin "Broken" on node "n1": boom');
});

test('scoreNodes: weighted sum of plugin scores', (t) => {
  const a: ScorePlugin = { name: 'A', score: (_p, nodes) => nodes.map((_, i) => i * 10) };
  const b: ScorePlugin = { name: 'B', score: (_p, nodes) => nodes.map(() => 5) };
  const nodes = [info(makeNode('x')), info(makeNode('y'))];
  t.deepEqual(
    scoreNodes(
      [
        { plugin: a, weight: 2 },
        { plugin: b, weight: 1 },
      ],
      podInfo(makePod('p')),
      nodes,
    ),
    [5, 25],
  );
});

test('selectHost: the best score wins; ties are broken by random()', (t) => {
  t.is(
    selectHost([1, 9, 3], () => 0.99),
    1,
  );
  t.is(
    selectHost([7, 2, 7, 7], () => 0),
    0,
  );
  t.is(
    selectHost([7, 2, 7, 7], () => 0.5),
    2,
  );
  t.is(
    selectHost([7, 2, 7, 7], () => 0.999),
    3,
  );
  t.throws(() => selectHost([], () => 0));
});

test('findFeasibleNodes: PreFilters run once with the cycle state; a rejecting PreFilter fails every node with its reason', (t) => {
  const nodes = [info(makeNode('n1')), info(makeNode('n2'))];
  let calls = 0;
  const key = { name: 'Seen' } as const;
  const counting: FilterPlugin = {
    name: 'Counting',
    preFilter: (_p, state) => {
      calls++;
      state.write(key, state.nodes.length);
      return SUCCESS;
    },
    filter: (_p, node, state) => (state?.read<number>(key) === 2 && node.name === 'n2' ? SUCCESS : unschedulable('nope')),
  };
  const state = new CycleState(nodes);
  t.deepEqual(
    findFeasibleNodes([counting], podInfo(makePod('p')), nodes, state).feasible.map((n) => n.name),
    ['n2'],
  );
  t.is(calls, 1);
  const rejecting: FilterPlugin = { name: 'Rejecting', preFilter: () => unschedulable('not today'), filter: () => SUCCESS };
  const out = findFeasibleNodes([rejecting], podInfo(makePod('p')), nodes);
  t.is(fitErrorMessage(2, out.reasons), '0/2 nodes are available: 2 not today.');
  const throwing: FilterPlugin = {
    name: 'Throwing',
    preFilter: () => {
      throw new Error('boom');
    },
    filter: () => SUCCESS,
  };
  t.is(findFeasibleNodes([throwing], podInfo(makePod('p')), nodes).error, 'running PreFilter plugin "Throwing": boom');
});

test('a PreFilter answering SKIP leaves its Filter out of the cycle; a PreScore answering SKIP its Score', (t) => {
  const calls: string[] = [];
  const skipped: FilterPlugin = {
    name: 'Skipped',
    preFilter: () => SKIP,
    filter: () => {
      calls.push('filter Skipped');
      return unschedulable('never');
    },
  };
  const kept: FilterPlugin = {
    name: 'Kept',
    preFilter: () => SUCCESS,
    filter: (_p, n) => {
      calls.push(`filter Kept ${n.name}`);
      return SUCCESS;
    },
  };
  const nodes = [info(makeNode('a')), info(makeNode('b'))];
  const pod = podInfo(makePod('p'));
  const out = findFeasibleNodes([skipped, kept], pod, nodes);
  t.deepEqual(
    out.feasible.map((n) => n.name),
    ['a', 'b'],
  );
  t.deepEqual(calls, ['filter Kept a', 'filter Kept b']);
  const never: ScorePlugin = {
    name: 'Never',
    preScore: () => SKIP,
    score: () => {
      throw new Error('scored although skipped');
    },
  };
  const ones: ScorePlugin = { name: 'Ones', preScore: () => SUCCESS, score: (_p, ns) => ns.map(() => 1) };
  t.deepEqual(
    scoreNodes(
      [
        { plugin: never, weight: 5 },
        { plugin: ones, weight: 2 },
      ],
      pod,
      nodes,
    ),
    [2, 2],
  );
});

test('the default plugins skip what a plain pod does not ask for, and still check what it does', (t) => {
  const nodes = [info(makeNode('a', { labels: { disk: 'ssd' } })), info(makeNode('b'))];
  const plain = findFeasibleNodes(DEFAULT_FILTERS, podInfo(makePod('p')), nodes);
  t.is(plain.feasible.length, 2);
  const selective = findFeasibleNodes(DEFAULT_FILTERS, podInfo(makePod('q', { nodeSelector: { disk: 'ssd' }, hostPorts: [{ port: 80 }] })), nodes);
  t.deepEqual(
    selective.feasible.map((n) => n.name),
    ['a'],
  );
});
