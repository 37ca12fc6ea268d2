import test from 'ava';
import { Registry } from 'prom-client';
import { NotFoundError } from '../../api/errors';
import type { Node, Pod } from '../../api/gen/tsk/v1/core';
import { FakeClock, NODE_NAME_INDEX, Store, nodeNameIndexFunc } from '../../client';
import { PodGcController, terminatedPodsToDelete, type PodGcOptions } from './controller';

function setup(options: PodGcOptions = {}) {
  const nodes = new Store<Node>();
  const pods = new Store<Pod>({ [NODE_NAME_INDEX]: nodeNameIndexFunc });
  const clock = new FakeClock();
  const deleted: string[] = [];
  const gets: string[] = [];
  const nodeClient = {
    get: (name: string) => {
      gets.push(name);
      // The API server is the truth: a node the cache lacks may still exist there.
      const n = apiNodes.get(name);
      return n ? Promise.resolve(n) : Promise.reject(new NotFoundError('Node', name));
    },
  };
  const apiNodes = new Map<string, Node>();
  const podClient = {
    delete: (name: string, o: { namespace?: string; gracePeriodSeconds?: number } = {}) => {
      deleted.push(`${name} grace=${o.gracePeriodSeconds}`);
      const old = pods.delete(`${o.namespace}/${name}`);
      return old ? Promise.resolve(old) : Promise.reject(new NotFoundError('Pod', name));
    },
  };
  const registry = new Registry();
  const c = new PodGcController(
    { nodes, pods, nodeClient, podClient, clock, registry, log: () => undefined },
    { quarantineMs: 40_000, gcCheckPeriodMs: 20_000, ...options },
  );
  return { nodes, pods, clock, deleted, gets, apiNodes, registry, c };
}

const pod = (name: string, nodeName: string, extra: { phase?: string; created?: string; deleting?: boolean } = {}): Pod => ({
  metadata: {
    name,
    namespace: 'default',
    uid: name,
    creationTimestamp: extra.created ?? '2024-01-01T00:00:00Z',
    ...(extra.deleting ? { deletionTimestamp: '2024-01-01T00:00:00Z' } : {}),
  },
  spec: { nodeName, containers: [{ name: 'c', image: 'x' }] },
  status: { phase: extra.phase ?? 'Running' },
});

test('pods on a deleted node are force-deleted after the quarantine, terminating ones too', async (t) => {
  const { nodes, pods, clock, deleted, c } = setup();
  nodes.upsert({ metadata: { name: 'alive' } });
  pods.upsert(pod('a', 'gone'));
  pods.upsert(pod('b', 'gone', { deleting: true }));
  pods.upsert(pod('c', 'alive'));
  c.run(1);
  t.teardown(() => c.stop());
  await clock.advance(39_000);
  t.deepEqual(deleted, [], 'not before the quarantine');
  await clock.advance(2_000);
  t.deepEqual(deleted.sort(), ['a grace=0', 'b grace=0']);
  t.truthy(pods.get('default/c'));
});

test('a node missing from the cache but known to the API server keeps its pods', async (t) => {
  const { pods, apiNodes, gets, deleted, c } = setup();
  apiNodes.set('late', { metadata: { name: 'late' } });
  pods.upsert(pod('a', 'late'));
  await c.sync('late');
  t.deepEqual(gets, ['late']);
  t.deepEqual(deleted, []);
});

test('a node back in the cache before the quarantine ends keeps its pods', async (t) => {
  const { nodes, pods, deleted, gets, c } = setup();
  pods.upsert(pod('a', 'n1'));
  c.podChanged(pod('a', 'n1'));
  nodes.upsert({ metadata: { name: 'n1' } });
  await c.sync('n1');
  t.deepEqual(gets, []);
  t.deepEqual(deleted, []);
});

test('terminating pods that were never scheduled are force-deleted by the sweep', async (t) => {
  const { pods, deleted, c } = setup();
  pods.upsert(pod('a', '', { deleting: true }));
  pods.upsert(pod('b', ''));
  await c.sync('');
  t.deepEqual(deleted, ['a grace=0']);
});

test('finished pods beyond the threshold are deleted oldest first', async (t) => {
  const { pods, deleted, registry, c } = setup({ terminatedPodThreshold: 2 });
  pods.upsert(pod('new', '', { phase: 'Succeeded', created: '2024-01-04T00:00:00Z' }));
  pods.upsert(pod('old', '', { phase: 'Failed', created: '2024-01-01T00:00:00Z' }));
  pods.upsert(pod('mid', '', { phase: 'Succeeded', created: '2024-01-02T00:00:00Z' }));
  pods.upsert(pod('older', '', { phase: 'Succeeded', created: '2023-12-01T00:00:00Z' }));
  pods.upsert(pod('running', '', { created: '2020-01-01T00:00:00Z' }));
  await c.sync('');
  t.deepEqual(deleted, ['older grace=0', 'old grace=0']);
  t.regex(await registry.metrics(), /pod_gc_collector_force_delete_pods_total\{namespace="default",reason="terminated"\} 2/);
});

const thresholdCases: [string, number, number, number][] = [
  ['under the threshold', 5, 3, 0],
  ['at the threshold', 3, 3, 0],
  ['over by two', 3, 5, 2],
  ['threshold 0 disables', 0, 5, 0],
];
for (const [title, threshold, finished, want] of thresholdCases) {
  test(`terminatedPodsToDelete: ${title}`, (t) => {
    const list = Array.from({ length: finished }, (_, i) => pod(`p${i}`, 'n', { phase: 'Succeeded', created: `2024-01-0${i + 1}T00:00:00Z` }));
    const out = terminatedPodsToDelete(list, threshold);
    t.is(out.length, want);
    t.deepEqual(
      out.map((p) => p.metadata?.name),
      list.slice(0, want).map((p) => p.metadata?.name),
    );
  });
}

test('terminating pods of a node that is not Ready and out of service are force-deleted; of a node merely down, they stay', async (t) => {
  const { nodes, pods, deleted, registry, c } = setup();
  const notReady = { status: { conditions: [{ type: 'Ready', status: 'Unknown' }] } };
  nodes.upsert({ metadata: { name: 'down' }, ...notReady });
  nodes.upsert({ metadata: { name: 'gone-for-good' }, spec: { taints: [{ key: 'node.kubernetes.io/out-of-service', effect: 'NoExecute' }] }, ...notReady });
  nodes.upsert({
    metadata: { name: 'ready-tainted' },
    spec: { taints: [{ key: 'node.kubernetes.io/out-of-service', effect: 'NoExecute' }] },
    status: { conditions: [{ type: 'Ready', status: 'True' }] },
  });
  pods.upsert(pod('waits', 'down', { deleting: true }));
  pods.upsert(pod('released', 'gone-for-good', { deleting: true }));
  pods.upsert(pod('not-deleted', 'gone-for-good'));
  pods.upsert(pod('kubelet-finishes', 'ready-tainted', { deleting: true }));
  await c.sync('');
  t.deepEqual(deleted, ['released grace=0']);
  t.regex(await registry.metrics(), /pod_gc_collector_force_delete_pods_total\{namespace="default",reason="out-of-service"\} 1/);
});
