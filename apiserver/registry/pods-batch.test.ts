import test from 'ava';
import type { Binding, Pod } from '../../api/gen/tsk/v1/core';
import type { ApiObject } from '../../api/kinds';
import type { Compare, EtcdStore, KeyValue, Op, TxnResult } from '../storage/etcd-store';
import type { LeaseManager } from '../storage/lease-manager';
import { decodeStored, encodeForStorage } from '../storage/objects';
import { WatchCache } from '../storage/watch-cache';
import { bindPods, podStrategy } from './pods';
import { Registry } from './store';

/** etcd's KV as a map with a revision counter: the range and txn calls the registry makes. */
class FakeEtcd {
  revision = 1;
  readonly kvs = new Map<string, KeyValue>();
  /** Each transaction's number of puts and whether it succeeded. */
  readonly txns: { puts: number; succeeded: boolean }[] = [];
  /** etcd's --max-txn-ops: a transaction with more puts is refused. */
  maxTxnOps = 128;

  put(key: string, value: Buffer): number {
    this.revision++;
    const createRevision = this.kvs.get(key)?.createRevision ?? this.revision;
    this.kvs.set(key, { key, value, modRevision: this.revision, createRevision });
    return this.revision;
  }

  get(key: string): Promise<{ kv: KeyValue | undefined; revision: number }> {
    return Promise.resolve({ kv: this.kvs.get(key), revision: this.revision });
  }

  txn(_type: string, _operation: string, compares: Compare[], ops: Op[]): Promise<TxnResult> {
    if (ops.length > this.maxTxnOps) return Promise.reject(new Error('etcdserver: too many operations in txn request'));
    const holds = compares.every((c) => ('modRevision' in c ? (this.kvs.get(c.key)?.modRevision ?? 0) === c.modRevision : this.kvs.has(c.key) === c.exists));
    this.txns.push({ puts: ops.length, succeeded: holds });
    if (!holds) return Promise.resolve({ succeeded: false, revision: this.revision });
    this.revision++;
    for (const op of ops) {
      if ('put' in op)
        this.kvs.set(op.put, {
          key: op.put,
          value: op.value,
          modRevision: this.revision,
          createRevision: this.kvs.get(op.put)?.createRevision ?? this.revision,
        });
      else this.kvs.delete(op.delete);
    }
    return Promise.resolve({ succeeded: true, revision: this.revision });
  }
}

const key = (name: string): string => `/registry/pods/default/${name}`;

function stored(name: string, extra: Partial<Pod> = {}): Buffer {
  const pod: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', uid: `uid-${name}`, labels: {} },
    spec: { containers: [{ name: 'c', image: 'busybox' }] },
    status: { phase: 'Pending' },
    ...extra,
  };
  return encodeForStorage('Pod', pod as ApiObject);
}

/** A registry of pods over a fake etcd holding `names`, its watch cache loaded from it. */
async function setup(names: string[], before: (etcd: FakeEtcd) => void = () => undefined): Promise<{ etcd: FakeEtcd; pods: Registry }> {
  const etcd = new FakeEtcd();
  for (const n of names) etcd.put(key(n), stored(n));
  before(etcd);
  const cache = new WatchCache('Pod', {
    list: () => Promise.resolve({ kvs: [...etcd.kvs.values()], revision: etcd.revision }),
    watch: () => ({ cancel: () => undefined }),
  });
  await cache.ready();
  const pods = new Registry(
    'Pod',
    {
      store: etcd as unknown as EtcdStore,
      caches: new Map([['Pod', cache]]),
      now: () => new Date(0),
      random: Math.random,
      namespaceTerminating: () => false,
      leases: {} as LeaseManager,
    },
    podStrategy(),
  );
  return { etcd, pods };
}

const binding = (name: string, node = 'node-1'): Binding => ({ metadata: { name, namespace: 'default' }, target: { kind: 'Node', name: node } });
const nodeIn = (etcd: FakeEtcd, name: string): string | undefined => {
  const kv = etcd.kvs.get(key(name));
  return kv ? (decodeStored('Pod', kv.value, kv.modRevision) as Pod).spec?.nodeName : undefined;
};

test('a batch decided on the cache is written in one transaction: one revision for every pod', async (t) => {
  const { etcd, pods } = await setup(['a', 'b', 'c']);
  const out = await bindPods(pods, [binding('a'), binding('b', 'node-2'), binding('c')], () => new Date(0));
  t.deepEqual(etcd.txns, [{ puts: 3, succeeded: true }]);
  const rvs = out.map((o) => (o instanceof Error ? o.message : o.metadata?.resourceVersion));
  t.deepEqual(rvs, ['5', '5', '5']);
  t.deepEqual(
    ['a', 'b', 'c'].map((n) => nodeIn(etcd, n)),
    ['node-1', 'node-2', 'node-1'],
  );
  const a = out[0] as Pod;
  t.is(a.status?.conditions?.find((c) => c.type === 'PodScheduled')?.status, 'True');
});

test('one stale copy fails the transaction: each pod is bound again on its own, none is lost and none fails', async (t) => {
  const { etcd, pods } = await setup(['a', 'b', 'c']);
  // b changed in etcd after the cache saw it: the batch's compare on b fails.
  etcd.put(key('b'), stored('b', { metadata: { name: 'b', namespace: 'default', uid: 'uid-b', labels: { changed: 'yes' } } }));
  const out = await bindPods(pods, [binding('a'), binding('b'), binding('c')], () => new Date(0));
  t.deepEqual(
    out.map((o) => (o instanceof Error ? o.message : 'bound')),
    ['bound', 'bound', 'bound'],
  );
  t.deepEqual(etcd.txns[0], { puts: 3, succeeded: false });
  t.deepEqual(
    ['a', 'b', 'c'].map((n) => nodeIn(etcd, n)),
    ['node-1', 'node-1', 'node-1'],
  );
  const b = decodeStored('Pod', etcd.kvs.get(key('b'))!.value, 0) as Pod;
  t.is(b.metadata?.labels?.['changed'], 'yes', "the other writer's change is kept");
});

test('a pod that cannot be bound fails only its own binding; the others share one transaction', async (t) => {
  const { etcd, pods } = await setup(['a', 'taken', 'c'], (etcd) =>
    etcd.put(key('taken'), stored('taken', { spec: { nodeName: 'node-9', containers: [{ name: 'c', image: 'busybox' }] } })),
  );
  const out = await bindPods(
    pods,
    [binding('a'), binding('taken'), binding('gone'), binding('c'), { metadata: { name: 'x' } }],
    () => new Date(0),
    (b) => {
      if (b?.metadata?.name === 'c') throw new Error('forbidden: c');
    },
  );
  t.deepEqual(
    out.map((o) => (o instanceof Error ? `${o.constructor.name}: ${o.message}` : `bound@${o.metadata?.resourceVersion}`)),
    [
      'bound@6',
      'ConflictError: pod taken is already assigned to node "node-9"',
      'NotFoundError: pods "gone" not found',
      'Error: forbidden: c',
      'BadRequestError: binding: target.name (the node) is required',
    ],
  );
  t.deepEqual(etcd.txns, [{ puts: 1, succeeded: true }]);
});

test('a transaction etcd refuses (a lower --max-txn-ops) binds each pod on its own', async (t) => {
  const { etcd, pods } = await setup(['a', 'b', 'c']);
  etcd.maxTxnOps = 2;
  const out = await bindPods(pods, [binding('a'), binding('b'), binding('c')], () => new Date(0));
  t.deepEqual(out.map((o) => (o instanceof Error ? o.message : o.metadata?.resourceVersion)).sort(), ['5', '6', '7']);
  t.deepEqual(
    etcd.txns.map((x) => x.puts),
    [1, 1, 1],
  );
  t.deepEqual(
    ['a', 'b', 'c'].map((n) => nodeIn(etcd, n)),
    ['node-1', 'node-1', 'node-1'],
  );
});
