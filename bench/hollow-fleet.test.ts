import test from 'ava';
import { defaultHollowProcesses, hollowMaxStallS, parseHollowReport, splitNodes, startRssPerNodeKib } from './hollow-fleet';

test('defaultHollowProcesses: one process per 500 nodes, at least one', (t) => {
  t.is(defaultHollowProcesses(1), 1);
  t.is(defaultHollowProcesses(200), 1);
  t.is(defaultHollowProcesses(500), 1);
  t.is(defaultHollowProcesses(501), 2);
  t.is(defaultHollowProcesses(1000), 2);
  t.is(defaultHollowProcesses(5000), 10);
});

test('splitNodes: contiguous disjoint ranges covering every node, sizes within one', (t) => {
  t.deepEqual(splitNodes(200, 2), [
    { offset: 0, count: 100 },
    { offset: 100, count: 100 },
  ]);
  t.deepEqual(splitNodes(10, 3), [
    { offset: 0, count: 3 },
    { offset: 3, count: 3 },
    { offset: 6, count: 4 },
  ]);
  t.deepEqual(splitNodes(7, 1), [{ offset: 0, count: 7 }]);
  // Never an empty process.
  t.deepEqual(splitNodes(2, 5), [
    { offset: 0, count: 1 },
    { offset: 1, count: 1 },
  ]);
  const ranges = splitNodes(5000, 10);
  t.is(
    ranges.reduce((n, r) => n + r.count, 0),
    5000,
  );
  ranges.forEach((r, i) => t.is(r.offset + r.count, ranges[i + 1]?.offset ?? 5000));
});

test('parseHollowReport: the JSON line among the progress lines; undefined before it', (t) => {
  t.is(parseHollowReport('tsk hollow-nodes: 10/100 hollow nodes started (1.0s)\n'), undefined);
  const out =
    'tsk hollow-nodes: 100/100 hollow nodes started\n{"nodes":100,"proxies":true,"rss_mb":400.5,"rss_per_node_kib":320}\ntsk hollow-nodes: stopping\n';
  t.deepEqual(parseHollowReport(out), { nodes: 100, proxies: true, rss_mb: 400.5, rss_per_node_kib: 320 } as never);
});

test('hollowMaxStallS: the longest stall reported, 0 when none', (t) => {
  t.is(hollowMaxStallS('nothing\n'), 0);
  t.is(hollowMaxStallS('event loop stalled up to 2.5 s in the last 30 s (p99 10 ms)\nevent loop stalled up to 12.0 s in the last 30 s\n'), 12);
});

test('startRssPerNodeKib: what the processes grew by over all their nodes', (t) => {
  t.is(
    startRssPerNodeKib([
      { nodes: 100, rss_mb: 0, rss_per_node_kib: 300 },
      { nodes: 300, rss_mb: 0, rss_per_node_kib: 340 },
    ]),
    330,
  );
  t.is(startRssPerNodeKib([]), 0);
});
