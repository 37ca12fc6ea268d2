import test from 'ava';
import { InvalidError } from '../../api/errors';
import type { Service } from '../../api/gen/tsk/v1/core';
import type { ApiObject } from '../../api/kinds';
import type { Compare, EtcdStore, KeyValue, Op, TxnResult } from '../storage/etcd-store';
import { decodeAllocation, encodeAllocation, parsePortRange, Bitmap } from './allocator';
import { AllocationCommitter, type Allocation, type AllocatorSpec } from './allocation-committer';
import { NODE_PORTS_KEY, SERVICE_IPS_KEY, ServiceAllocators } from './services';
import type { TxnParts } from './strategy';

/** etcd's KV as a map with a revision counter: the get and txn calls the committer makes, counted. */
class FakeEtcd {
  revision = 1;
  readonly kvs = new Map<string, KeyValue>();
  gets = 0;
  readonly txns: { compares: number; succeeded: boolean }[] = [];
  /** Runs before the next transaction is applied (another API server's write, say). */
  beforeNextTxn: (() => void) | undefined;
  failNextTxn: Error | undefined;
  /** Transactions with compares wait for it (a slow etcd). */
  gate: Promise<void> | undefined;

  put(key: string, value: Buffer): void {
    this.revision++;
    this.kvs.set(key, { key, value, modRevision: this.revision, createRevision: this.kvs.get(key)?.createRevision ?? this.revision });
  }

  get(key: string): Promise<{ kv: KeyValue | undefined; revision: number }> {
    this.gets++;
    return Promise.resolve({ kv: this.kvs.get(key), revision: this.revision });
  }

  async txn(_type: string, _operation: string, compares: Compare[], ops: Op[], readOnFailure?: string | readonly string[]): Promise<TxnResult> {
    await Promise.resolve(); // answered later, as etcd: writes queue meanwhile
    if (compares.length > 0) await this.gate;
    const before = this.beforeNextTxn;
    this.beforeNextTxn = undefined;
    before?.();
    const keys = ops.map((op) => ('put' in op ? op.put : op.delete));
    if (new Set(keys).size < keys.length) throw new Error('etcdserver: duplicate key given in txn request');
    const fail = this.failNextTxn;
    this.failNextTxn = undefined;
    if (fail) throw fail;
    const holds = compares.every((c) => ('modRevision' in c ? (this.kvs.get(c.key)?.modRevision ?? 0) === c.modRevision : this.kvs.has(c.key) === c.exists));
    this.txns.push({ compares: compares.length, succeeded: holds });
    if (!holds) {
      const keys = typeof readOnFailure === 'string' ? [readOnFailure] : (readOnFailure ?? []);
      const read = new Map(keys.map((k) => [k, this.kvs.get(k) ?? null]));
      return { succeeded: false, revision: this.revision, read };
    }
    this.revision++;
    for (const op of ops) {
      if ('put' in op) this.kvs.set(op.put, { key: op.put, value: op.value, modRevision: this.revision, createRevision: this.revision });
      else this.kvs.delete(op.delete);
    }
    return { succeeded: true, revision: this.revision };
  }
}

const RANGE = parsePortRange('1-1000');
const KEY = '/registry/ranges/test';
const SPEC: AllocatorSpec = { key: KEY, range: RANGE, parse: parsePortRange };

function committer(etcd: FakeEtcd): AllocationCommitter {
  return new AllocationCommitter(etcd as unknown as EtcdStore, [SPEC]);
}

/** The values etcd's bitmap holds. */
function stored(etcd: FakeEtcd): number[] {
  const bits = decodeAllocation(RANGE, etcd.kvs.get(KEY)?.value);
  const out: number[] = [];
  for (let i = 0; i < RANGE.size; i++) if (bits.has(i)) out.push(Number(RANGE.valueOf(i)));
  return out;
}

/** Stores a bitmap holding `values`, as another API server would. */
function storeBitmap(etcd: FakeEtcd, values: number[]): void {
  const bits = new Bitmap(RANGE.size);
  for (const v of values) bits.set(RANGE.slotOf(String(v)));
  etcd.put(KEY, encodeAllocation(RANGE, bits));
}

/** A write that creates `name` holding the first free value (or `want`); the value it got lands in `got`. */
function allocating(name: string, got: Map<string, number>, want?: number): (a: ReadonlyMap<string, Allocation>) => TxnParts {
  return (allocations) => {
    const a = allocations.get(KEY)!;
    let slot: number;
    if (want === undefined) slot = a.bitmap.nextFree(0);
    else {
      slot = a.range.slotOf(String(want));
      if (a.bitmap.has(slot)) throw new InvalidError('Service', name, [{ field: 'value', message: 'already allocated' }]);
    }
    a.bitmap.set(slot);
    a.touched = true;
    got.set(name, Number(a.range.valueOf(slot)));
    return { compares: [{ key: `/objects/${name}`, modRevision: 0 }], ops: [{ put: `/objects/${name}`, value: Buffer.from(name) }] };
  };
}

test('concurrent writes share transactions: one read of the bitmap, no conflicts, every value once', async (t) => {
  const etcd = new FakeEtcd();
  const c = committer(etcd);
  const got = new Map<string, number>();
  const outcomes = await Promise.all(Array.from({ length: 150 }, (_, i) => c.commit('services', 'create', allocating(`s${i}`, got))));
  t.true(outcomes.every((o) => o.status === 'written'));
  t.is(new Set(got.values()).size, 150);
  t.deepEqual(
    stored(etcd),
    [...got.values()].sort((a, b) => a - b),
  );
  t.is(etcd.gets, 1, 'the bitmap is read once');
  t.true(etcd.txns.every((x) => x.succeeded));
  // The first write goes alone; the 149 queued behind it take two more (100 compares at most: 99 writes and the bitmap's).
  t.is(etcd.txns.length, 3);
  t.true(etcd.txns.every((x) => x.compares <= 100));

  // Later writes plan on memory: no read.
  await c.commit('services', 'create', allocating('late', got));
  t.is(etcd.gets, 1);
});

test('a transaction that lost to another API server learns its bitmap from the failure and plans again', async (t) => {
  const etcd = new FakeEtcd();
  const c = committer(etcd);
  const got = new Map<string, number>();
  await c.commit('services', 'create', allocating('first', got)); // memory now holds the bitmap
  // Another server allocates 2 and 3 behind this one's back, just before its next transaction.
  etcd.beforeNextTxn = () => storeBitmap(etcd, [...stored(etcd), 2, 3]);
  const out = await c.commit('services', 'create', allocating('second', got));
  t.is(out.status, 'written');
  t.is(got.get('second'), 4, 'the values the other server took are not handed out again');
  t.deepEqual(stored(etcd), [1, 2, 3, 4]);
  t.is(etcd.gets, 1, 'the failed transaction read the bitmap itself');
  t.deepEqual(
    etcd.txns.map((x) => x.succeeded),
    [true, false, true],
  );
});

test('a write whose own compare fails ends alone, with what etcd holds; the others of its transaction are written', async (t) => {
  const etcd = new FakeEtcd();
  const c = committer(etcd);
  const got = new Map<string, number>();
  await c.commit('services', 'create', allocating('warm', got));
  etcd.put('/objects/taken', Buffer.from('someone'));
  const [a, taken, b] = await Promise.all([
    c.commit('services', 'create', allocating('a', got)),
    c.commit('services', 'create', allocating('taken', got)),
    c.commit('services', 'create', allocating('b', got)),
  ]);
  t.is(a.status, 'written');
  t.is(b.status, 'written');
  t.is(taken.status, 'failed');
  t.deepEqual(taken.status === 'failed' ? taken.read.get('/objects/taken')?.value.toString() : undefined, 'someone');
  // Nothing leaked: etcd holds warm's, a's and b's values only.
  t.deepEqual(
    stored(etcd),
    [got.get('warm')!, got.get('a')!, got.get('b')!].sort((x, y) => x - y),
  );
});

test('two writes of one object go in turn, not in one transaction (etcd refuses a key written twice)', async (t) => {
  const etcd = new FakeEtcd();
  const c = committer(etcd);
  const got = new Map<string, number>();
  await c.commit('services', 'create', allocating('warm', got));
  const [x, y, z] = await Promise.all([
    c.commit('services', 'create', allocating('same', got)),
    c.commit('services', 'create', allocating('same', got)),
    c.commit('services', 'create', allocating('other', got)),
  ]);
  t.is(x.status, 'written');
  t.is(y.status, 'failed', 'the second create finds the first one');
  t.is(z.status, 'written');
  t.is(stored(etcd).length, 3, "the failed create's value is not kept");
});

test('a refusal decided on memory is checked against etcd: a value another server released can be taken', async (t) => {
  const etcd = new FakeEtcd();
  storeBitmap(etcd, [7]);
  const c = committer(etcd);
  const got = new Map<string, number>();
  await c.commit('services', 'create', allocating('warm', got)); // memory: 1 and 7 taken
  storeBitmap(etcd, [1]); // another server released 7
  const out = await c.commit('services', 'create', allocating('wants-7', got, 7));
  t.is(out.status, 'written');
  t.deepEqual(stored(etcd), [1, 7]);
  // A value really taken is refused after the check.
  await t.throwsAsync(c.commit('services', 'create', allocating('wants-1', got, 1)), { message: /wants-1/ });
  t.deepEqual(stored(etcd), [1, 7]);
});

test('a transaction that errors rejects its writes and makes the next plan read etcd', async (t) => {
  const etcd = new FakeEtcd();
  const c = committer(etcd);
  const got = new Map<string, number>();
  await c.commit('services', 'create', allocating('warm', got));
  t.is(etcd.gets, 1);
  etcd.failNextTxn = new Error('etcd unavailable');
  await t.throwsAsync(c.commit('services', 'create', allocating('lost', got)), { message: 'etcd unavailable' });
  await c.commit('services', 'create', allocating('after', got));
  t.is(etcd.gets, 2, 'whether it was written is unknown: read again');
  t.deepEqual(stored(etcd), [1, 2]);
});

test('a write that touches no bitmap goes at once, alone, while a group is in flight', async (t) => {
  const etcd = new FakeEtcd();
  const c = committer(etcd);
  const got = new Map<string, number>();
  await c.commit('services', 'create', allocating('warm', got));
  let open = (): void => undefined;
  etcd.gate = new Promise((resolve) => (open = resolve));
  const group = Promise.all([c.commit('services', 'create', allocating('a', got)), c.commit('services', 'create', allocating('b', got))]);
  await new Promise((resolve) => setImmediate(resolve)); // the group's transaction is in flight, held by the gate
  const status = await c.commit('services', 'update', () => ({ compares: [], ops: [{ put: '/objects/status', value: Buffer.from('x') }] }));
  t.is(status.status, 'written');
  t.is(etcd.txns.length, 2, 'the status write did not wait for the group');
  open();
  t.true((await group).every((o) => o.status === 'written'));
  t.deepEqual(stored(etcd), [1, 2, 3]);
});

function service(name: string, clusterIP: string, nodePort: number): Service {
  return { metadata: { name, namespace: 'default' }, spec: { type: 'NodePort', clusterIP, ports: [{ port: 80, nodePort }] } } as Service;
}

test('a service delete releases its values even when memory thinks they are free (another server allocated them)', async (t) => {
  const etcd = new FakeEtcd();
  const alloc = new ServiceAllocators(etcd as unknown as EtcdStore, { serviceCidr: '10.96.0.0/24', nodePortRange: '30000-30100', random: () => 0 });
  const parts = (name: string): TxnParts => ({ compares: [], ops: [{ put: `/objects/${name}`, value: Buffer.from(name) }] });
  const first = service('first', '', 0);
  await alloc.commit('services', 'create', (p) => {
    p.create(first as ApiObject);
    return parts('first');
  });
  t.is(first.spec?.clusterIP, '10.96.0.2');
  t.is(first.spec?.ports?.[0]?.nodePort, 30000);
  // Another server creates "other" with 10.96.0.3 and 30001; this one's memory does not know.
  const theirs = new ServiceAllocators(etcd as unknown as EtcdStore, { serviceCidr: '10.96.0.0/24', nodePortRange: '30000-30100', random: () => 0 });
  const other = service('other', '', 0);
  await theirs.commit('services', 'create', (p) => {
    p.create(other as ApiObject);
    return parts('other');
  });
  t.is(other.spec?.clusterIP, '10.96.0.3');
  // This server deletes "other": its release must reach etcd.
  await alloc.commit('services', 'delete', (p) => {
    p.delete(other as ApiObject);
    return { compares: [], ops: [{ delete: '/objects/other' }] };
  });
  const ips = decodeAllocation(alloc.ipRange, etcd.kvs.get(SERVICE_IPS_KEY)?.value);
  const ports = decodeAllocation(alloc.portRange, etcd.kvs.get(NODE_PORTS_KEY)?.value);
  t.true(ips.has(alloc.ipRange.slotOf('10.96.0.2')));
  t.false(ips.has(alloc.ipRange.slotOf('10.96.0.3')), "the other server's ClusterIP is released");
  t.false(ports.has(alloc.portRange.slotOf('30001')), "the other server's NodePort is released");
  t.is(ips.used, 1);
  t.is(ports.used, 1);
});
