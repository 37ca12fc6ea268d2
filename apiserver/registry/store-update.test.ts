import test from 'ava';
import { ConflictError, NotFoundError } from '../../api/errors';
import type { Pod } from '../../api/gen/tsk/v1/core';
import type { ApiObject } from '../../api/kinds';
import type { Compare, EtcdStore, KeyValue, Op, TxnResult } from '../storage/etcd-store';
import type { LeaseManager } from '../storage/lease-manager';
import { decodeStored, encodeForStorage } from '../storage/objects';
import { WatchCache } from '../storage/watch-cache';
import { podStrategy } from './pods';
import { Registry } from './store';

/** etcd's KV with a revision counter; counts reads, and answers a failed compare with the key asked for, as etcd's failure branch. */
class FakeEtcd {
  revision = 1;
  readonly kvs = new Map<string, KeyValue>();
  gets = 0;
  readonly txns: boolean[] = [];

  put(key: string, value: Buffer): void {
    this.revision++;
    this.kvs.set(key, { key, value, modRevision: this.revision, createRevision: this.kvs.get(key)?.createRevision ?? this.revision });
  }

  get(key: string): Promise<{ kv: KeyValue | undefined; revision: number }> {
    this.gets++;
    return Promise.resolve({ kv: this.kvs.get(key), revision: this.revision });
  }

  txn(_type: string, _operation: string, compares: Compare[], ops: Op[], readOnFailure?: string): Promise<TxnResult> {
    const holds = compares.every((c) => ('modRevision' in c ? (this.kvs.get(c.key)?.modRevision ?? 0) === c.modRevision : this.kvs.has(c.key) === c.exists));
    this.txns.push(holds);
    if (!holds) {
      const current = readOnFailure === undefined ? undefined : (this.kvs.get(readOnFailure) ?? null);
      return Promise.resolve({ succeeded: false, revision: this.revision, ...(current === undefined ? {} : { current }) });
    }
    for (const op of ops) {
      if ('put' in op) this.put(op.put, op.value);
      else {
        this.revision++;
        this.kvs.delete(op.delete);
      }
    }
    return Promise.resolve({ succeeded: true, revision: this.revision });
  }
}

const KEY = '/registry/pods/default/p';

function stored(labels: Record<string, string>): Buffer {
  const pod: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'default', uid: 'uid-p', labels },
    spec: { containers: [{ name: 'c', image: 'busybox' }] },
    status: { phase: 'Pending' },
  };
  return encodeForStorage('Pod', pod as ApiObject);
}

/** A pod registry whose watch cache holds the pod as first stored and never hears of later writes (a cache lagging behind). */
async function setup(): Promise<{ etcd: FakeEtcd; pods: Registry }> {
  const etcd = new FakeEtcd();
  etcd.put(KEY, stored({ a: '1' }));
  const cache = new WatchCache('Pod', {
    list: () => Promise.resolve({ kvs: [...etcd.kvs.values()], revision: etcd.revision }),
    watch: () => ({ cancel: () => undefined }),
  });
  await cache.ready();
  const ctx = {
    store: etcd as unknown as EtcdStore,
    caches: new Map([['Pod' as const, cache]]),
    now: () => new Date(0),
    random: Math.random,
    namespaceTerminating: () => false,
    leases: {} as LeaseManager,
  };
  return { etcd, pods: new Registry('Pod', ctx, podStrategy()) };
}

const labelsIn = (etcd: FakeEtcd): Record<string, string> | undefined => {
  const kv = etcd.kvs.get(KEY)!;
  return (decodeStored('Pod', kv.value, kv.modRevision) as Pod).metadata?.labels;
};

const addLabel =
  (k: string) =>
  (cur: ApiObject): ApiObject => ({ ...cur, metadata: { ...cur.metadata, labels: { ...cur.metadata?.labels, [k]: 'x' } } });

test('an update that lost a race starts again from what its transaction read: no second read', async (t) => {
  const { etcd, pods } = await setup();
  etcd.put(KEY, stored({ a: '1', other: 'writer' })); // another writer; the cache still has the first copy
  const out = await pods.guaranteedUpdate('default', 'p', undefined, addLabel('mine'));
  t.deepEqual(etcd.txns, [false, true], 'the stale copy lost, the retry on the read object won');
  t.is(etcd.gets, 0);
  t.deepEqual(labelsIn(etcd), { a: '1', other: 'writer', mine: 'x' }, 'the other writer is kept');
  t.is(out.metadata?.resourceVersion, String(etcd.revision));
});

test('a stale resourceVersion is a Conflict from the failed transaction alone', async (t) => {
  const { etcd, pods } = await setup();
  const rv = etcd.revision; // what the client (and the cache) saw
  etcd.put(KEY, stored({ a: '2' }));
  await t.throwsAsync(pods.guaranteedUpdate('default', 'p', rv, addLabel('mine')), { instanceOf: ConflictError });
  t.deepEqual(etcd.txns, [false]);
  t.is(etcd.gets, 0);
  t.deepEqual(labelsIn(etcd), { a: '2' });
});

test('an object deleted under an update is NotFound', async (t) => {
  const { etcd, pods } = await setup();
  etcd.kvs.delete(KEY);
  await t.throwsAsync(pods.guaranteedUpdate('default', 'p', undefined, addLabel('mine')), { instanceOf: NotFoundError });
  t.is(etcd.gets, 0);
});
