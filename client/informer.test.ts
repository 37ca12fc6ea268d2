import test from 'ava';
import type { Pod } from '../api/gen/tsk/v1/core';
import { FakeClock, flushPromises } from './clock';
import { FakeApi } from './fake';
import { Informer } from './informer';
import { NODE_NAME_INDEX, nodeNameIndexFunc } from './store';
import { errorMessage } from '../util/errors';

const pod = (name: string, labels: Record<string, string> = {}, node = ''): Pod => ({
  metadata: { namespace: 'default', name, labels },
  spec: { nodeName: node },
});

function setup(opts: { resyncPeriodMs?: number } = {}) {
  const api = new FakeApi<Pod>();
  const clock = new FakeClock();
  const log: string[] = [];
  const errors: string[] = [];
  const informer = new Informer<Pod>({
    listerWatcher: api,
    clock,
    random: () => 0,
    backoff: { initialMs: 100, maxMs: 800 },
    indexers: { [NODE_NAME_INDEX]: nodeNameIndexFunc },
    resyncPeriodMs: opts.resyncPeriodMs,
    onError: (err, ctx) => errors.push(`${ctx}: ${errorMessage(err)}`),
  });
  const name = (p: Pod): string => `${p.metadata?.name}@${p.metadata?.resourceVersion}`;
  informer.addEventHandler({
    onAdd: (p) => log.push(`add ${name(p)}`),
    onUpdate: (o, n) => log.push(`update ${name(o)}->${name(n)}`),
    onDelete: (p) => log.push(`delete ${name(p)}`),
  });
  return { api, clock, log, errors, informer };
}

test('lists, syncs, then delivers watch events in order with the cache updated first', async (t) => {
  const { api, log, informer } = setup();
  api.upsert(pod('a'));
  const seenInCache: (string | undefined)[] = [];
  informer.addEventHandler({ onUpdate: (_o, n) => seenInCache.push(informer.store.get('default/a')?.metadata?.resourceVersion ?? n.metadata?.name) });
  informer.start();
  await informer.waitForSync();
  t.true(informer.hasSynced());
  t.deepEqual(log, ['add a@2']);
  api.upsert(pod('b'));
  api.upsert(pod('a', { v: '1' }));
  api.remove('default/b');
  await flushPromises();
  t.deepEqual(log, ['add a@2', 'add b@3', 'update a@2->a@4', 'delete b@5']);
  t.deepEqual(seenInCache, ['4']);
  t.is(informer.lastSyncResourceVersion, '5');
  t.deepEqual(informer.store.listKeys(), ['default/a']);
  await informer.stop();
  t.is(informer.state, 'stopped');
});

test('a sequence of updates to one object arrives in order', async (t) => {
  const { api, log, informer } = setup();
  informer.start();
  await informer.waitForSync();
  for (let i = 0; i < 50; i++) api.upsert(pod('x', { i: String(i) }));
  await flushPromises();
  const values = log.map((l) => l);
  t.is(values.length, 50);
  const labels: string[] = [];
  informer.addEventHandler({});
  t.is(informer.store.get('default/x')?.metadata?.labels?.['i'], '49');
  for (let i = 1; i < 50; i++) labels.push(`update x@${i + 1}->x@${i + 2}`);
  t.deepEqual(log.slice(1), labels);
  await informer.stop();
});

test('re-lists after Expired and delivers the difference, deletes carrying the last known state', async (t) => {
  const { api, log, informer, errors } = setup();
  api.upsert(pod('keep'));
  api.upsert(pod('change'));
  api.upsert(pod('gone', { last: 'state' }));
  informer.start();
  await informer.waitForSync();
  log.length = 0;
  const listsBefore = api.listCalls;
  // Changes the informer's watch never sees, then a compaction.
  api.silently(() => {
    api.upsert(pod('change', { v: '2' }));
    api.remove('default/gone');
    api.upsert(pod('new'));
  });
  api.compact();
  await flushPromises();
  t.is(api.listCalls, listsBefore + 1, 're-listed once');
  t.deepEqual(log, ['update change@3->change@5', 'add new@7', 'delete gone@4']);
  t.deepEqual(informer.store.listKeys().sort(), ['default/change', 'default/keep', 'default/new']);
  t.deepEqual(errors, []);
  // and keeps watching from the new list's revision
  api.upsert(pod('after'));
  await flushPromises();
  t.deepEqual(log.slice(3), ['add after@8']);
  await informer.stop();
});

test('after a lost connection it re-watches from before the last revision with back-off and misses nothing', async (t) => {
  const { api, clock, log, informer, errors } = setup();
  informer.start();
  await informer.waitForSync();
  api.upsert(pod('a'));
  await flushPromises();
  api.down();
  await flushPromises();
  // Changes while the informer is disconnected.
  api.upsert(pod('b'));
  api.upsert(pod('a', { v: '2' }));
  // Re-watch attempts fail while down: 100, 200, 400 ms apart.
  await clock.advance(100);
  await clock.advance(200);
  t.is(informer.state, 'backoff');
  api.up();
  await clock.advance(400);
  t.deepEqual(log, ['add a@2', 'add b@3', 'update a@2->a@4'], 'the replay of a@2 is not applied twice');
  const lastWatch = api.lastWatch;
  t.is(lastWatch?.fromResourceVersion, '1', 'resumed from the revision before the last one seen (it may be incomplete), no re-list');
  t.is(api.listCalls, 1);
  t.true(errors.length >= 2);
  await informer.stop();
});

test('bookmarks advance the revision a re-watch starts from', async (t) => {
  const { api, clock, informer } = setup();
  informer.start();
  await informer.waitForSync();
  api.silently(() => api.upsert(pod('other-selector')));
  api.bookmark();
  await flushPromises();
  t.is(informer.lastSyncResourceVersion, '2');
  api.lastWatch?.end();
  await clock.advance(100);
  t.is(api.lastWatch?.fromResourceVersion, '2');
  await informer.stop();
});

test('a throwing handler does not break the informer or the other handlers', async (t) => {
  const { api, log, informer, errors } = setup();
  informer.addEventHandler({
    onAdd: () => {
      throw new Error('handler bug');
    },
  });
  informer.start();
  await informer.waitForSync();
  api.upsert(pod('a'));
  api.upsert(pod('b'));
  await flushPromises();
  t.deepEqual(log, ['add a@2', 'add b@3']);
  t.is(errors.filter((e) => e.includes('handler bug')).length, 2);
  await informer.stop();
});

test('periodic resync re-delivers every cached object as an update', async (t) => {
  const { api, clock, log, informer } = setup({ resyncPeriodMs: 1000 });
  api.upsert(pod('a'));
  informer.start();
  await informer.waitForSync();
  await clock.advance(1000);
  await clock.advance(1000);
  t.deepEqual(log, ['add a@2', 'update a@2->a@2', 'update a@2->a@2']);
  await informer.stop();
});

test('indexes: pods by node', async (t) => {
  const { api, informer } = setup();
  api.upsert(pod('a', {}, 'n1'));
  api.upsert(pod('b', {}, 'n2'));
  informer.start();
  await informer.waitForSync();
  api.upsert(pod('b', {}, 'n1'));
  await flushPromises();
  t.deepEqual(
    informer.store
      .byIndex(NODE_NAME_INDEX, 'n1')
      .map((p) => p.metadata?.name)
      .sort(),
    ['a', 'b'],
  );
  t.deepEqual(informer.store.byIndex('namespace', 'default').length, 2);
  await informer.stop();
});

test('a failed list is retried with back-off; waitForSync rejects if stopped first', async (t) => {
  const { api, clock, informer } = setup();
  api.down();
  informer.start();
  const sync = informer.waitForSync();
  await clock.advance(100);
  t.is(api.listCalls, 2);
  t.false(informer.hasSynced());
  await informer.stop();
  await t.throwsAsync(sync, { message: /stopped before it synced/ });
});

test('a handler registered after sync gets adds for the cache', async (t) => {
  const { api, informer } = setup();
  api.upsert(pod('a'));
  informer.start();
  await informer.waitForSync();
  const late: string[] = [];
  informer.addEventHandler({ onAdd: (p) => late.push(p.metadata?.name ?? '') });
  t.deepEqual(late, ['a']);
  t.throws(() => informer.start(), { message: /started twice/ });
  await informer.stop();
});

test('a transform is applied to listed and watched objects before the cache and the handlers see them', async (t) => {
  const api = new FakeApi<Pod>();
  // A copy with a mark: the fake's own objects stay as they are.
  const informer = new Informer<Pod>({
    listerWatcher: api,
    transform: (p) => ({ ...p, metadata: { ...p.metadata, annotations: { trimmed: 'yes' } } }),
  });
  const seen: string[] = [];
  const mark = (p: Pod): string => `${p.metadata?.name}:${p.metadata?.annotations?.['trimmed'] ?? 'no'}`;
  informer.addEventHandler({ onAdd: (p) => seen.push(`add ${mark(p)}`), onUpdate: (o, n) => seen.push(`update ${mark(o)}->${mark(n)}`) });
  api.upsert(pod('listed'));
  informer.start();
  await informer.waitForSync();
  api.upsert(pod('watched'));
  api.upsert(pod('listed', { v: '2' }));
  await flushPromises();
  t.deepEqual(seen, ['add listed:yes', 'add watched:yes', 'update listed:yes->listed:yes']);
  t.is(informer.store.get('default/watched')?.metadata?.annotations?.['trimmed'], 'yes');
  await informer.stop();
});

test('a watch cut in the middle of a revision of several objects resumes before it: nothing lost, nothing applied twice', async (t) => {
  const { api, clock, log, informer } = setup();
  api.upsert(pod('a'));
  informer.start();
  await informer.waitForSync();
  log.length = 0;
  // One transaction binds a, b and c at revision 3; the stream breaks after b.
  api.breakWatchesAfter(2);
  api.transaction(() => {
    api.upsert(pod('a', {}, 'n1'));
    api.upsert(pod('b', {}, 'n1'));
    api.upsert(pod('c', {}, 'n1'));
  });
  await flushPromises();
  t.deepEqual(log, ['update a@2->a@3', 'add b@3']);
  await clock.advance(100);
  t.is(api.lastWatch?.fromResourceVersion, '2', 'resumed from the revision before the one that may be incomplete');
  t.deepEqual(log, ['update a@2->a@3', 'add b@3', 'add c@3'], 'c arrives; a and b are not applied again');
  t.deepEqual(informer.store.listKeys().sort(), ['default/a', 'default/b', 'default/c']);
  // A later revision completes the one before: the next resume starts from it.
  api.transaction(() => api.remove('default/b'));
  await flushPromises();
  api.lastWatch?.end();
  await clock.advance(100);
  t.is(api.lastWatch?.fromResourceVersion, '3');
  t.deepEqual(log.slice(3), ['delete b@4']);
  t.is(api.listCalls, 1);
  await informer.stop();
});

test('a bookmark or a list completes the open revision: the watch resumes from it', async (t) => {
  const { api, clock, informer } = setup();
  informer.start();
  await informer.waitForSync();
  api.transaction(() => {
    api.upsert(pod('a'));
    api.upsert(pod('b'));
  });
  await flushPromises();
  api.bookmark();
  await flushPromises();
  api.lastWatch?.end();
  await clock.advance(100);
  t.is(api.lastWatch?.fromResourceVersion, '2');
  await informer.stop();
});
