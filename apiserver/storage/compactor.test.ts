import test from 'ava';
import { compactOnce, type CompactionBackend, type CompactorState } from './compactor';

/** compact_rev_key in memory, with etcd's versions, and a revision that advances as writes happen. */
class FakeEtcd implements CompactionBackend {
  version = 0;
  value = 0;
  revision = 100;
  compactions: number[] = [];

  async swapCompactRevision(expectVersion: number, revision: number): Promise<{ succeeded: boolean; version: number; revision: number }> {
    if (this.version !== expectVersion) return { succeeded: false, version: this.version, revision: this.revision };
    this.version++;
    this.value = revision;
    this.revision++;
    return { succeeded: true, version: this.version, revision: this.revision };
  }

  async compact(revision: number): Promise<void> {
    this.compactions.push(revision);
  }
}

test('the first round records the revision; the next compacts to it, keeping one interval of history', async (t) => {
  const etcd = new FakeEtcd();
  let state: CompactorState = { version: 0, revision: 0 };
  let res = await compactOnce(etcd, state);
  t.is(res.compacted, undefined);
  state = res.state;
  const recorded = state.revision;
  etcd.revision += 500; // writes during the interval
  res = await compactOnce(etcd, state);
  t.is(res.compacted, recorded);
  t.deepEqual(etcd.compactions, [recorded]);
  t.true(res.state.revision > recorded);
});

test('two API servers on one etcd: one compacts per round, the other adopts its state', async (t) => {
  const etcd = new FakeEtcd();
  let a: CompactorState = { version: 0, revision: 0 };
  let b: CompactorState = { version: 0, revision: 0 };
  for (let round = 0; round < 4; round++) {
    a = (await compactOnce(etcd, a)).state;
    b = (await compactOnce(etcd, b)).state;
    etcd.revision += 50;
  }
  // Per round exactly one swap succeeds, and b always loses to a, or adopts and wins the next;
  // together they compact at most once per round and never to a revision newer than one round ago.
  t.true(etcd.compactions.length <= 4 && etcd.compactions.length >= 2);
  const sorted = [...etcd.compactions].sort((x, y) => x - y);
  t.deepEqual(etcd.compactions, sorted);
  t.is(new Set(etcd.compactions).size, etcd.compactions.length);
});

test('a lost swap reports the key version it saw and compacts nothing', async (t) => {
  const etcd = new FakeEtcd();
  etcd.version = 7;
  const res = await compactOnce(etcd, { version: 3, revision: 42 });
  t.is(res.compacted, undefined);
  t.deepEqual(res.state, { version: 7, revision: 100 });
  t.deepEqual(etcd.compactions, []);
});
