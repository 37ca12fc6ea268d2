import test from 'ava';
import { Node } from '../../api/gen/tsk/v1/core';
import type { ApiObject } from '../../api/kinds';
import type { EtcdStore, KeyValue, RangeOptions, RangeResult } from '../storage/etcd-store';
import type { LeaseManager } from '../storage/lease-manager';
import { encodeForStorage } from '../storage/objects';
import { WatchCache } from '../storage/watch-cache';
import { Registry } from './store';
import type { Strategy } from './strategy';

/** etcd's KV for reads (the current version of each key only), counting the ranges it serves. */
class FakeEtcd {
  revision = 1;
  readonly kvs = new Map<string, KeyValue>();
  readonly ranges: { start: string; keysOnly: boolean }[] = [];

  put(key: string, value: Buffer): void {
    this.revision++;
    this.kvs.set(key, { key, value, modRevision: this.revision, createRevision: this.kvs.get(key)?.createRevision ?? this.revision });
  }

  get(key: string): Promise<{ kv: KeyValue | undefined; revision: number }> {
    this.ranges.push({ start: key, keysOnly: false });
    return Promise.resolve({ kv: this.kvs.get(key), revision: this.revision });
  }

  range(start: string | Buffer, _type: string, o: RangeOptions): Promise<RangeResult> {
    const from = start.toString();
    this.ranges.push({ start: from, keysOnly: o.keysOnly ?? false });
    const end = o.end?.toString();
    const all = [...this.kvs.values()]
      .filter((kv) => (end === undefined ? kv.key === from : kv.key >= from && kv.key < end))
      .sort((a, b) => (a.key < b.key ? -1 : 1));
    const limit = o.limit ?? 0;
    const kvs = (limit > 0 ? all.slice(0, limit) : all).map((kv) => (o.keysOnly ? { ...kv, value: Buffer.alloc(0) } : kv));
    return Promise.resolve({ kvs, revision: this.revision, more: kvs.length < all.length, count: all.length });
  }
}

function node(name: string, labels: Record<string, string> = {}): Buffer {
  const n: Node = { apiVersion: 'v1', kind: 'Node', metadata: { name, uid: `uid-${name}`, labels }, spec: {}, status: {} };
  return encodeForStorage('Node', n as ApiObject);
}

const names = (items: Buffer[]): string[] => items.map((b) => Node.decode(b).metadata?.name ?? '');

/**
 * A node registry over `count` nodes whose watch cache holds them as first
 * stored; `lagging` writes every node again afterwards, so the cache (which
 * never hears of it) is behind etcd and cannot serve a consistent list.
 */
async function setup(count: number, lagging: boolean): Promise<{ etcd: FakeEtcd; nodes: Registry }> {
  const etcd = new FakeEtcd();
  const key = (i: number): string => `/registry/nodes/node-${String(i).padStart(4, '0')}`;
  for (let i = 0; i < count; i++) etcd.put(key(i), node(`node-${String(i).padStart(4, '0')}`));
  const cache = new WatchCache('Node', {
    list: () => Promise.resolve({ kvs: [...etcd.kvs.values()], revision: etcd.revision }),
    watch: () => ({ cancel: () => undefined }),
    currentRevision: () => Promise.resolve(etcd.revision),
  });
  await cache.ready();
  if (lagging) for (let i = 0; i < count; i++) etcd.put(key(i), node(`node-${String(i).padStart(4, '0')}`, { again: 'yes' }));
  const ctx = {
    store: etcd as unknown as EtcdStore,
    caches: new Map([['Node' as const, cache]]),
    now: () => new Date(0),
    random: Math.random,
    namespaceTerminating: () => false,
    leases: {} as LeaseManager,
  };
  etcd.ranges.length = 0;
  return { etcd, nodes: new Registry('Node', ctx, {} as Strategy) };
}

test('a list naming one object by metadata.name reads that key alone when the cache is behind', async (t) => {
  const { etcd, nodes } = await setup(100, true);
  const res = await nodes.list({ namespace: '', labelSelector: '', fieldSelector: 'metadata.name=node-0042', limit: 0, continue: '' });
  t.deepEqual(names(res.items), ['node-0042']);
  t.is(res.revision, etcd.revision);
  t.is(Node.decode(res.items[0]!).metadata?.labels?.['again'], 'yes', 'etcd current version, not the cache copy');
  // The freshness check (a one-key range) and the object's key: no range over every node.
  t.deepEqual(
    etcd.ranges.filter((r) => r.start !== '/registry/nodes/').map((r) => r.start),
    ['/registry/nodes/node-0042'],
  );
});

test('a list naming one object is served from the fresh cache without reading it from etcd', async (t) => {
  const { etcd, nodes } = await setup(100, false);
  const res = await nodes.list({ namespace: '', labelSelector: '', fieldSelector: 'metadata.name=node-0007', limit: 0, continue: '' });
  t.deepEqual(names(res.items), ['node-0007']);
  const none = await nodes.list({ namespace: '', labelSelector: 'a=b', fieldSelector: 'metadata.name=node-0007', limit: 0, continue: '' });
  t.deepEqual(none.items, [], 'the label selector still applies');
  const missing = await nodes.list({ namespace: '', labelSelector: '', fieldSelector: 'metadata.name=nope', limit: 0, continue: '' });
  t.deepEqual(missing.items, []);
  t.true(
    etcd.ranges.every((r) => r.start === '/registry/nodes/'),
    'only freshness checks',
  );
});

test('a list whose page the cache lacks reads the values in one range, not one read per key', async (t) => {
  const { etcd, nodes } = await setup(100, true);
  const res = await nodes.list({ namespace: '', labelSelector: 'again=yes', fieldSelector: '', limit: 0, continue: '' });
  t.is(res.items.length, 100);
  const reads = etcd.ranges.filter((r) => !r.keysOnly || r.start !== '/registry/nodes/');
  t.true(reads.length <= 2, `${reads.length} etcd ranges for one list`);
});
