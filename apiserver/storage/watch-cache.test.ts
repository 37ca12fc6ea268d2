import test from 'ava';
import type { ApiError } from '../../api/errors';
import type { Pod } from '../../api/gen/tsk/v1/core';
import type { ApiObject } from '../../api/kinds';
import { parseSelector } from '../../api/labels';
import type { KeyValue } from './etcd-store';
import { encodeForStorage } from './objects';
import { CachedObject, TooOldError, WatchCache, type CacheSource, type RawEvent, type WatchSink } from './watch-cache';
import type { WatchEventType } from './wire';

class FakeSource implements CacheSource {
  emit: (events: RawEvent[]) => void = () => undefined;
  fail: (err: Error) => void = () => undefined;
  watchedFrom = 0;
  constructor(
    private readonly initial: KeyValue[],
    private readonly revision: number,
  ) {}
  async list() {
    return { kvs: this.initial, revision: this.revision };
  }
  watch(from: number, onEvents: (e: RawEvent[]) => void, onError: (e: Error) => void) {
    this.watchedFrom = from;
    this.emit = onEvents;
    this.fail = onError;
    return { cancel: () => undefined };
  }
}

function pod(name: string, labels: Record<string, string>): Buffer {
  const p: Pod = { metadata: { name, namespace: 'default', labels }, spec: { containers: [{ name: 'c', image: 'busybox' }] } };
  return encodeForStorage('Pod', p as ApiObject);
}

const key = (name: string) => `/registry/pods/default/${name}`;
const put = (name: string, rev: number, labels: Record<string, string> = {}): RawEvent => ({
  type: 'put',
  key: key(name),
  value: pod(name, labels),
  modRevision: rev,
});
const del = (name: string, rev: number): RawEvent => ({ type: 'delete', key: key(name), value: Buffer.alloc(0), modRevision: rev });

class RecordingSink implements WatchSink {
  events: { type: WatchEventType; name: string; rv: string; labels: Record<string, string> }[] = [];
  closed: ApiError | undefined;
  constructor(
    private readonly selector = '',
    private readonly capacity = Infinity,
  ) {}
  matches(o: CachedObject): boolean {
    return parseSelector(this.selector).matches(o.obj.metadata?.labels ?? {});
  }
  deliver(type: WatchEventType, obj: CachedObject): boolean {
    if (this.events.length >= this.capacity) return false;
    this.events.push({ type, name: obj.obj.metadata?.name ?? '', rv: obj.obj.metadata?.resourceVersion ?? '', labels: { ...obj.obj.metadata?.labels } });
    return true;
  }
  close(err: ApiError): void {
    this.closed = err;
  }
}

async function startCache(capacity = 100) {
  const source = new FakeSource([{ key: key('a'), value: pod('a', { app: 'web' }), modRevision: 5, createRevision: 5 }], 10);
  const cache = new WatchCache('Pod', source, { capacity });
  await cache.ready();
  return { source, cache };
}

test('the initial list is loaded and the etcd watch starts right after its revision', async (t) => {
  const { source, cache } = await startCache();
  t.is(source.watchedFrom, 11);
  t.is(cache.size, 1);
  t.is(cache.revision, 10);
  t.is(cache.get(key('a'))?.obj.metadata?.resourceVersion, '5');
  t.is(cache.get(key('a'))?.obj.kind, 'Pod');
});

test('events reach watchers in order, with previous-object semantics per selector', async (t) => {
  const { source, cache } = await startCache();
  const all = new RecordingSink();
  const web = new RecordingSink('app=web');
  cache.watch(10, all);
  cache.watch(10, web);
  source.emit([put('b', 11, { app: 'db' })]);
  source.emit([put('b', 12, { app: 'web' }), put('a', 13, { app: 'other' })]);
  source.emit([del('b', 14)]);
  t.deepEqual(
    all.events.map((e) => `${e.type} ${e.name} ${e.rv}`),
    ['ADDED b 11', 'MODIFIED b 12', 'MODIFIED a 13', 'DELETED b 14'],
  );
  // b starts matching (ADDED), a stops matching (DELETED with its last
  // matching content at the event's revision), b is deleted.
  t.deepEqual(
    web.events.map((e) => `${e.type} ${e.name} ${e.rv} ${e.labels['app']}`),
    ['ADDED b 12 web', 'DELETED a 13 web', 'DELETED b 14 web'],
  );
  t.is(cache.revision, 14);
  t.is(cache.size, 1);
});

test('a watch from an older revision replays the ring buffer, then goes live', async (t) => {
  const { source, cache } = await startCache();
  source.emit([put('b', 11), put('c', 12), put('d', 13)]);
  const sink = new RecordingSink();
  cache.watch(11, sink);
  source.emit([put('e', 14)]);
  t.deepEqual(
    sink.events.map((e) => e.name),
    ['c', 'd', 'e'],
  );
  // A watch from a revision ahead of the cache skips what it already has.
  const ahead = new RecordingSink();
  cache.watch(15, ahead);
  source.emit([put('f', 15), put('g', 16)]);
  t.deepEqual(
    ahead.events.map((e) => e.name),
    ['g'],
  );
});

test('eventsAt: the events one transaction wrote at a revision, undefined beyond the window', async (t) => {
  const { source, cache } = await startCache(4);
  source.emit([put('b', 11), put('c', 12), put('d', 12), put('e', 12), put('f', 13)]);
  t.is(cache.eventsAt(12), 3);
  t.is(cache.eventsAt(13), 1);
  t.is(cache.eventsAt(14), 0, 'not yet written');
  t.is(cache.eventsAt(11), undefined, 'the ring no longer holds all of it');
});

test('a revision older than the window is refused with TooOldError', async (t) => {
  const { source, cache } = await startCache(3);
  source.emit([put('b', 11), put('c', 12), put('d', 13), put('e', 14)]);
  t.is(cache.oldestServable, 11);
  t.throws(() => cache.watch(10, new RecordingSink()), { instanceOf: TooOldError });
  const sink = new RecordingSink();
  cache.watch(11, sink);
  t.deepEqual(
    sink.events.map((e) => e.name),
    ['c', 'd', 'e'],
  );
});

test('a watcher that cannot keep up is dropped without blocking the others', async (t) => {
  const { source, cache } = await startCache();
  const slow = new RecordingSink('', 1);
  const fast = new RecordingSink();
  cache.watch(10, slow);
  cache.watch(10, fast);
  source.emit([put('b', 11), put('c', 12), put('d', 13)]);
  t.is(slow.events.length, 1);
  t.is(fast.events.length, 3);
  t.is(cache.watcherCount, 1);
});

test('a broken etcd watch closes watchers with Expired and the cache reloads', async (t) => {
  const { source, cache } = await startCache();
  const sink = new RecordingSink();
  cache.watch(10, sink);
  source.fail(new Error('required revision has been compacted'));
  t.is(sink.closed?.reason, 'Expired');
  await new Promise((r) => setTimeout(r, 200));
  await cache.ready();
  t.is(cache.watcherCount, 0);
  t.is(cache.size, 1);
});

/** A source that, as etcd, knows its current revision and answers progress requests on demand. */
class ProgressSource extends FakeSource {
  etcdRevision = 10;
  progressRequests = 0;
  onProgress: (revision: number) => void = () => undefined;
  override watch(from: number, onEvents: (e: RawEvent[]) => void, onError: (e: Error) => void, onProgress?: (revision: number) => void) {
    super.watch(from, onEvents, onError);
    if (onProgress) this.onProgress = onProgress;
    return { cancel: () => undefined, requestProgress: () => this.progressRequests++ };
  }
  async currentRevision() {
    return this.etcdRevision;
  }
}

test("a consistent read waits for another server's writes: events, or etcd's progress notification", async (t) => {
  const src = new ProgressSource([], 10);
  const cache = new WatchCache('Pod', src);
  await cache.ready();
  t.true(await cache.waitFresh(1000), 'etcd is where the cache is');
  t.is(src.progressRequests, 0, 'no progress asked for when the cache is current');

  // Another API server wrote a pod at 12: the cache is fresh once its event came.
  src.etcdRevision = 12;
  const waiting = cache.waitFresh(1000);
  await new Promise((r) => setImmediate(r));
  src.emit([put('a', 12)]);
  t.true(await waiting);
  t.is(cache.get(key('a'))?.revision, 12);

  // Writes to other kinds moved etcd to 15: only a progress notification says the cache is there.
  src.etcdRevision = 15;
  const waiting2 = cache.waitFresh(1000);
  await new Promise((r) => setImmediate(r));
  t.is(src.progressRequests, 2, 'progress asked of etcd each time the cache lagged');
  src.onProgress(15);
  t.true(await waiting2);
  t.is(cache.revision, 15, 'a list is served at etcd revision 15');

  // No answer (the etcd watch is reconnecting): the wait gives up, the caller reads etcd.
  src.etcdRevision = 16;
  t.false(await cache.waitFresh(50));
});

/** etcd older than 3.4.31/3.5.13: its progress notifications cannot be trusted, so none is asked for. */
class NoProgressSource extends FakeSource {
  etcdRevision = 10;
  override watch(from: number, onEvents: (e: RawEvent[]) => void, onError: (e: Error) => void) {
    super.watch(from, onEvents, onError);
    return { cancel: () => undefined };
  }
  async currentRevision() {
    return this.etcdRevision;
  }
}

test('without progress notifications a lagging cache sends a consistent read to etcd at once, not after a timeout', async (t) => {
  const src = new NoProgressSource([], 10);
  const cache = new WatchCache('Pod', src);
  await cache.ready();
  t.true(await cache.waitFresh(60_000), 'the cache is at etcd revision 10');
  src.etcdRevision = 11;
  // Answered at once: a wait for a notification that never comes would outlast the test's timeout.
  t.false(await cache.waitFresh(60_000));
  src.emit([put('a', 11)]);
  t.true(await cache.waitFresh(60_000), 'caught up through its own events');
});

/** A kubelet's watch (spec.nodeName=NODE) that counts how often the cache asks it. */
class NodeSink extends RecordingSink {
  asked = 0;
  constructor(readonly node: string) {
    super();
  }
  override matches(o: CachedObject): boolean {
    this.asked++;
    return (o.obj as Pod).spec?.nodeName === this.node;
  }
  requiredValue(field: string): string | undefined {
    return field === 'spec.nodeName' ? this.node : undefined;
  }
}

function boundPod(name: string, rev: number, nodeName: string): RawEvent {
  const p: Pod = { metadata: { name, namespace: 'default' }, spec: { nodeName, containers: [{ name: 'c', image: 'busybox' }] } };
  return { type: 'put', key: key(name), value: encodeForStorage('Pod', p as ApiObject), modRevision: rev };
}

test("pod watchers by spec.nodeName see only their node's pods, and are not asked about others", async (t) => {
  const { source, cache } = await startCache();
  const n1 = new NodeSink('node-1');
  const n2 = new NodeSink('node-2');
  const all = new RecordingSink();
  cache.watch(10, n1);
  cache.watch(10, n2);
  cache.watch(10, all);
  t.is(cache.watcherCount, 3);
  source.emit([boundPod('p', 11, ''), boundPod('p', 12, 'node-1'), boundPod('q', 13, 'node-1')]);
  // Moved from node-1 to node-2 (no real pod does, but an index must follow the old value too).
  source.emit([boundPod('p', 14, 'node-2'), del('q', 15)]);
  t.deepEqual(
    n1.events.map((e) => `${e.type} ${e.name} ${e.rv}`),
    ['ADDED p 12', 'ADDED q 13', 'DELETED p 14', 'DELETED q 15'],
  );
  t.deepEqual(
    n2.events.map((e) => `${e.type} ${e.name} ${e.rv}`),
    ['ADDED p 14'],
  );
  t.is(all.events.length, 5);
  // node-2 was asked only about the event that involved it (twice: new and old state).
  t.is(n2.asked, 2);
  // A watch restarted from an older revision replays from the ring only what involves its node.
  const again = new NodeSink('node-2');
  cache.watch(10, again);
  t.deepEqual(
    again.events.map((e) => `${e.type} ${e.name} ${e.rv}`),
    ['ADDED p 14'],
  );
  t.is(again.asked, 2);
});

test('a cached object holds its client encoding in a buffer of its own, not a slice keeping a larger one alive', (t) => {
  const stored = encodeForStorage('Pod', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a', namespace: 'default', labels: { app: 'x' } } } as ApiObject);
  t.is(stored[0], 0x0a);
  // As etcd's responses hand values over: slices of one message buffer.
  const message = Buffer.concat([Buffer.alloc(5000), stored, Buffer.alloc(5000)]);
  const slice = message.subarray(5000, 5000 + stored.length);
  const o = CachedObject.fromStored('Pod', key('a'), slice, 7);
  t.is(o.bytes.buffer.byteLength, o.bytes.length);
  t.is(o.bytes.byteOffset, 0);
  t.is(o.obj.metadata?.resourceVersion, '7');
  t.deepEqual(o.obj.metadata?.labels, { app: 'x' });
  t.deepEqual(o.storedBytes(), stored);
  // From a write of this server: its encoding, also copied out of a pooled buffer.
  const small = Buffer.from(o.bytes);
  const w = CachedObject.fromObject('Pod', key('a'), o.obj, 7, small);
  t.is(w.bytes.buffer.byteLength, w.bytes.length);
  t.deepEqual(w.bytes, o.bytes);
});

test('the decoded object is rebuilt from the bytes alone, and a deletion restamps the revision', (t) => {
  const p: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'b', namespace: 'default', resourceVersion: '9' }, spec: { nodeName: 'n1' } };
  const w = CachedObject.fromObject('Pod', key('b'), p as ApiObject, 9);
  t.is(w.obj, p as ApiObject, 'the object written is used while it lives');
  t.is(w.fieldValue('spec.nodeName'), 'n1');
  t.is(w.fieldValue('metadata.name'), 'b');
  t.is(w.fieldValue('metadata.namespace'), 'default');
  const gone = w.atRevision(12);
  t.is(gone.revision, 12);
  t.is(gone.obj.metadata?.resourceVersion, '12');
  t.is((gone.obj as Pod).spec?.nodeName, 'n1');
  t.deepEqual(gone.storedBytes(), w.storedBytes());
});

test('an object in an older encoding (no apiVersion first) is served re-encoded, and offers no stored bytes to update from', (t) => {
  const legacy = Buffer.from(encodeForStorage('Pod', { metadata: { name: 'c', namespace: 'default' } } as ApiObject));
  t.not(legacy[0], 0x0a);
  const o = CachedObject.fromStored('Pod', key('c'), legacy, 3);
  t.is(o.obj.apiVersion, 'v1');
  t.is(o.obj.kind, 'Pod');
  t.is(o.storedBytes(), undefined);
});
