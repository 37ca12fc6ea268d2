import test from 'ava';
import { info, makeNode, makePod, podInfo } from '../testing';
import { findFeasibleNodes } from './framework';
import { NodeSampler, numFeasibleNodesToFind, percentageOfNodesToScoreError } from './sampling';
import { SUCCESS, unschedulable, type FilterPlugin } from './types';

test('numFeasibleNodesToFind: every node below 100, adaptive 50% - n/125 with floors of 5% and 100 nodes', (t) => {
  t.is(numFeasibleNodesToFind(0, 0), 0);
  t.is(numFeasibleNodesToFind(0, 99), 99);
  t.is(numFeasibleNodesToFind(0, 100), 100, '50% of 100 is below the 100-node floor');
  t.is(numFeasibleNodesToFind(0, 1000), 420, '50 - 8 = 42%');
  t.is(numFeasibleNodesToFind(0, 5000), 500, '50 - 40 = 10%');
  t.is(numFeasibleNodesToFind(0, 6000), 300, '50 - 48 = 2%, raised to 5%');
  t.is(numFeasibleNodesToFind(0, 15000), 750, '5% floor');
});

test('numFeasibleNodesToFind: an explicit percentage, never below 100 nodes; 100% is every node', (t) => {
  t.is(numFeasibleNodesToFind(30, 1000), 300);
  t.is(numFeasibleNodesToFind(1, 1000), 100);
  t.is(numFeasibleNodesToFind(100, 5000), 5000);
  t.is(numFeasibleNodesToFind(50, 50), 50);
});

test('percentageOfNodesToScore outside 0..100 is refused with Kubernetes words', (t) => {
  t.is(percentageOfNodesToScoreError(0), undefined);
  t.is(percentageOfNodesToScoreError(100), undefined);
  t.is(percentageOfNodesToScoreError(101), 'not in valid range [0-100]: 101');
  t.is(percentageOfNodesToScoreError(-1), 'not in valid range [0-100]: -1');
  t.throws(() => new NodeSampler(2.5), { message: 'percentageOfNodesToScore: not in valid range [0-100]: 2.5' });
});

/** Nodes named n0..n(count-1); the ones in `full` are refused by a filter. */
function nodes(count: number, full: ReadonlySet<number> = new Set()) {
  const infos = Array.from({ length: count }, (_, i) => info(makeNode(`n${i}`)));
  const filter: FilterPlugin = { name: 'Full', filter: (_p, n) => (full.has(Number(n.name.slice(1))) ? unschedulable('full') : SUCCESS) };
  return { infos, filter };
}

test('the search stops once enough feasible nodes are found and the next one starts where it stopped', (t) => {
  const { infos, filter } = nodes(1000, new Set([1, 2]));
  const sampler = new NodeSampler(10);
  const pod = podInfo(makePod('p'));
  const w1 = sampler.window(infos.length);
  t.deepEqual(w1, { start: 0, want: 100 });
  const first = findFeasibleNodes([filter], pod, infos, undefined, w1);
  t.is(first.feasible.length, 100);
  t.is(first.processed, 102, 'two refused nodes were also tried');
  t.is(first.reasons.get('full'), 2);
  t.is(first.feasible[0]?.name, 'n0');
  t.is(first.feasible[99]?.name, 'n101');
  sampler.advance(w1.start, first.processed, infos.length);
  const w2 = sampler.window(infos.length);
  t.is(w2.start, 102);
  const second = findFeasibleNodes([filter], pod, infos, undefined, w2);
  t.is(second.feasible[0]?.name, 'n102');
});

test('the search wraps around the end of the node list', (t) => {
  const { infos, filter } = nodes(1000);
  const sampler = new NodeSampler(10);
  sampler.advance(0, 950, infos.length);
  const w = sampler.window(infos.length);
  const out = findFeasibleNodes([filter], podInfo(makePod('p')), infos, undefined, w);
  t.deepEqual([out.feasible[0]?.name, out.feasible[49]?.name, out.feasible[50]?.name, out.feasible[99]?.name], ['n950', 'n999', 'n0', 'n49']);
  sampler.advance(w.start, out.processed, infos.length);
  t.is(sampler.window(infos.length).start, 50);
});

test('with too few feasible nodes every node is tried once and the start stays put', (t) => {
  const full = new Set(Array.from({ length: 990 }, (_, i) => i));
  const { infos, filter } = nodes(1000, full);
  const sampler = new NodeSampler(0);
  sampler.advance(0, 500, infos.length);
  const w = sampler.window(infos.length);
  const out = findFeasibleNodes([filter], podInfo(makePod('p')), infos, undefined, w);
  t.is(out.processed, 1000);
  t.is(out.feasible.length, 10);
  t.is(out.reasons.get('full'), 990);
  sampler.advance(w.start, out.processed, infos.length);
  t.is(sampler.window(infos.length).start, 500);
});
