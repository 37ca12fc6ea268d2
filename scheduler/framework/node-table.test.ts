import test from 'ava';
import type { Taint } from '../../api/gen/tsk/v1/core';
import { DEFAULT_FILTERS, DEFAULT_SCORES } from '../plugins';
import { info, makeNode, makePod, podInfo } from '../testing';
import { findFeasibleNodes, scoreNodes } from './framework';
import { combineQuickChecks, NodeTable } from './node-table';
import { CycleState } from './types';

test('a row passes only what every condition allows', (t) => {
  const table = new NodeTable();
  table.set(0, info(makeNode('free', { cpu: '1', memory: '1Gi', pods: '2' })));
  table.set(1, info(makeNode('cordoned', { unschedulable: true })));
  table.set(2, info(makeNode('tainted', { taints: [{ key: 'k', value: 'v', effect: 'NoExecute' }] })));
  table.set(3, info(makeNode('soft', { taints: [{ key: 'k', value: 'v', effect: 'PreferNoSchedule' }] })));
  table.set(4, info(makeNode('full', { pods: '1' }), [makePod('p', { nodeName: 'full' })]));
  const fit = (milliCpu: number, memory: number) => ({ schedulable: true, noHardTaints: true, fit: { milliCpu, memory } });
  t.deepEqual(
    [0, 1, 2, 3, 4].map((i) => table.passes(i, fit(1000, 1024 ** 3))),
    [true, false, false, true, false],
  );
  t.false(table.passes(0, fit(1001, 0)), 'more cpu than allocatable');
  t.false(table.passes(0, fit(0, 1024 ** 3 + 1)), 'more memory than allocatable');
  t.true(table.passes(1, { noHardTaints: true }), 'only the conditions asked for count');
  t.deepEqual(combineQuickChecks([{ schedulable: true }, { fit: { milliCpu: 5, memory: 0 } }, { noHardTaints: true }]), {
    schedulable: true,
    noHardTaints: true,
    fit: { milliCpu: 5, memory: 0 },
  });
});

test('the table grows past its first rows', (t) => {
  const table = new NodeTable();
  for (let i = 0; i < 300; i++) table.set(i, info(makeNode(`n${i}`, { unschedulable: i % 2 === 1, cpu: String(i + 1) })));
  t.true(table.passes(298, { schedulable: true }));
  t.false(table.passes(299, { schedulable: true }));
  t.is(table.allocatableMilliCpu(0), 1000, 'rows written before the growth are kept');
  t.is(table.allocatableMilliCpu(299), 300_000);
});

/** A small deterministic random source. */
function lcg(seed: number): () => number {
  let x = seed;
  return () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

test('with the table, the default filters find the same nodes for the same reasons, and the default scores score them the same, as without', (t) => {
  const random = lcg(7);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
  const taints: Taint[][] = [[], [{ key: 'a', value: '1', effect: 'NoSchedule' }], [{ key: 'b', value: '', effect: 'PreferNoSchedule' }]];
  for (let round = 0; round < 40; round++) {
    const nodes = Array.from({ length: 30 }, (_, i) => {
      const name = `n${i}`;
      const node = makeNode(name, {
        cpu: pick(['1', '2']),
        memory: pick(['1Gi', '2Gi']),
        pods: pick(['1', '2', '110']),
        unschedulable: random() < 0.2,
        taints: pick(taints),
      });
      const pods = Array.from({ length: Math.floor(random() * 3) }, (_, k) =>
        makePod(`${name}-${k}`, { nodeName: name, cpu: pick(['100m', '900m']), memory: pick(['100Mi', '1Gi']) }),
      );
      return info(node, pods);
    });
    const table = new NodeTable();
    nodes.forEach((n, i) => table.set(i, n));
    const pod = podInfo(
      makePod(`p${round}`, {
        cpu: pick(['', '500m', '1500m']),
        memory: pick(['', '512Mi']),
        tolerations: random() < 0.3 ? [{ key: 'a', operator: 'Exists', effect: 'NoSchedule' }] : [],
        nodeSelector: random() < 0.1 ? { zone: 'x' } : {},
      }),
    );
    const window = { start: Math.floor(random() * nodes.length), want: 1 + Math.floor(random() * nodes.length) };
    const plain = findFeasibleNodes(DEFAULT_FILTERS, pod, nodes, new CycleState(nodes), window);
    const quick = findFeasibleNodes(DEFAULT_FILTERS, pod, nodes, new CycleState(nodes), window, table);
    t.deepEqual(
      quick.feasible.map((n) => n.name),
      plain.feasible.map((n) => n.name),
    );
    t.is(quick.processed, plain.processed);
    t.deepEqual([...quick.reasons].sort(), [...plain.reasons].sort());
    t.deepEqual(
      quick.rows.map((i) => nodes[i]?.name),
      plain.feasible.map((n) => n.name),
    );
    t.deepEqual(
      scoreNodes(DEFAULT_SCORES, pod, quick.feasible, new CycleState(nodes), { table, rows: quick.rows }),
      scoreNodes(DEFAULT_SCORES, pod, plain.feasible, new CycleState(nodes)),
    );
  }
});
