import test from 'ava';
import { ConflictError, NotFoundError } from '../../api/errors';
import type { Node } from '../../api/gen/tsk/v1/core';
import { FakeClock, Store, type EventRecorder } from '../../client';
import { NodeIpamController, type NodeIpamOptions } from './controller';

function setup(options: NodeIpamOptions = {}) {
  const nodes = new Store<Node>();
  const clock = new FakeClock();
  const events: string[] = [];
  const failures: Error[] = [];
  const writes: string[] = [];
  /** What a fresh GET returns (the API's copy), by name; default the cache's. */
  const server = new Map<string, Node>();
  let gets = 0;
  const client = {
    get: (name: string) => {
      gets++;
      const n = server.get(name) ?? nodes.get(name);
      return n ? Promise.resolve(n) : Promise.reject(new NotFoundError('Node', name));
    },
    update: (n: Node) => {
      const err = failures.shift();
      if (err) return Promise.reject(err);
      writes.push(`${n.metadata?.name} ${n.spec?.podCIDR} ${n.spec?.podCIDRs?.join(',')}`);
      nodes.upsert(n);
      return Promise.resolve(n);
    },
  };
  const recorder: EventRecorder = { event: (ref, type, reason, message) => events.push(`${ref.name} ${type} ${reason}: ${message}`) };
  const c = new NodeIpamController({ nodes, client, recorder, clock, log: () => undefined }, options);
  return { nodes, clock, events, failures, writes, server, gets: () => gets, c };
}

const node = (name: string, podCIDR = ''): Node => ({ metadata: { name }, spec: podCIDR ? { podCIDR, podCIDRs: [podCIDR] } : {} });

test('nodes get distinct subnets; a node with one keeps it; nothing is written twice', async (t) => {
  const { nodes, writes, c } = setup();
  nodes.upsert(node('a'));
  nodes.upsert(node('b', '10.244.0.0/24'));
  nodes.upsert(node('c'));
  c.rebuild();
  for (const n of ['a', 'b', 'c', 'a']) await c.sync(n);
  t.deepEqual(writes, ['a 10.244.1.0/24 10.244.1.0/24', 'c 10.244.2.0/24 10.244.2.0/24']);
});

test('the set is rebuilt from the nodes at start: a new controller never hands out a taken subnet', async (t) => {
  const first = setup();
  for (const n of ['a', 'b']) first.nodes.upsert(node(n));
  for (const n of ['a', 'b']) await first.c.sync(n);
  const second = setup();
  for (const n of first.nodes.list()) second.nodes.upsert(n);
  second.nodes.upsert(node('c'));
  second.c.rebuild();
  await second.c.sync('c');
  t.deepEqual(second.writes, ['c 10.244.2.0/24 10.244.2.0/24']);
});

test('a deleted node releases its subnet; a full range gives CIDRNotAvailable until then', async (t) => {
  const { nodes, events, writes, clock, c } = setup({ clusterCidr: '10.10.0.0/23', nodeCidrMaskSize: 24, fullRetryMs: 1000 });
  nodes.upsert(node('a'));
  nodes.upsert(node('b'));
  await c.sync('a');
  await c.sync('b');
  nodes.upsert(node('c'));
  await c.sync('c');
  t.deepEqual(events, ['c Normal CIDRNotAvailable: Node c status is now: CIDRNotAvailable']);
  t.is(nodes.get('c')?.spec?.podCIDR, undefined);
  nodes.delete('a');
  await c.sync('a');
  t.true(c.queue.len() >= 1, 'the waiting node is queued again');
  await c.sync('c');
  t.is(nodes.get('c')?.spec?.podCIDR, '10.10.0.0/24');
  t.is(writes.length, 3);
  await clock.advance(0);
});

test('a conflict is retried at once from a fresh read, not from the lagging cache', async (t) => {
  const { nodes, failures, writes, gets, c } = setup();
  nodes.upsert(node('a'));
  failures.push(new ConflictError('stale'));
  await c.sync('a');
  t.is(gets(), 1);
  t.deepEqual(writes, ['a 10.244.0.0/24 10.244.0.0/24']);
});

test('a node found with a subnet on the fresh read keeps it, and the reserved one is freed', async (t) => {
  const { nodes, failures, writes, server, c } = setup();
  nodes.upsert(node('a'));
  server.set('a', node('a', '10.244.7.0/24'));
  failures.push(new ConflictError('stale'));
  await c.sync('a');
  t.deepEqual(writes, []);
  t.false(c.cidrs.has('10.244.0.0/24'));
  t.true(c.cidrs.has('10.244.7.0/24'));
});

test('a failed write keeps the reservation for the retry; a node gone meanwhile frees it', async (t) => {
  const { nodes, failures, writes, c } = setup();
  nodes.upsert(node('a'));
  for (let i = 0; i < 4; i++) failures.push(new ConflictError('stale'));
  await t.throwsAsync(() => c.sync('a'), { instanceOf: ConflictError });
  await c.sync('a');
  t.deepEqual(writes, ['a 10.244.0.0/24 10.244.0.0/24']);
  nodes.upsert(node('b'));
  failures.push(new NotFoundError('Node', 'b'));
  await c.sync('b');
  t.false(c.cidrs.has('10.244.1.0/24'));
});

test('--allocate-node-cidrs=false: nothing is allocated', async (t) => {
  const { nodes, writes, c } = setup({ allocateNodeCidrs: false });
  nodes.upsert(node('a'));
  c.run(1);
  c.nodeChanged(node('a'));
  t.is(c.queue.len(), 0);
  await c.stop();
  t.deepEqual(writes, []);
});

test('a node whose cached copy lags behind our write is not written again; one re-created under its name is', async (t) => {
  const { nodes, writes, c } = setup();
  const stale: Node = { metadata: { name: 'a', uid: 'u1' }, spec: {} };
  nodes.upsert(stale);
  await c.sync('a');
  // The informer has not delivered the write yet: the kubelet's status post brings the old copy again.
  nodes.upsert(stale);
  await c.sync('a');
  t.deepEqual(writes, ['a 10.244.0.0/24 10.244.0.0/24']);
  nodes.upsert({ metadata: { name: 'a', uid: 'u2' }, spec: {} });
  await c.sync('a');
  t.is(writes.length, 2);
});
