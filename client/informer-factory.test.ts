import test from 'ava';
import { Clientset } from './clientset';
import { SharedInformerFactory } from './informer-factory';
import type { Informer } from './informer';
import { KINDS, type ApiObject } from '../api/kinds';
import type { Pod } from '../api/gen/tsk/v1/core';
import { FakeClock } from './clock';
import { FakeApi } from './fake';

/** The handlers an informer calls (white-box: the factory's scope must leave exactly the others). */
const handlerCount = (i: Informer<ApiObject>): number => (i as unknown as { handlers: unknown[] }).handlers.length;

test('a scope hands out the shared informers and removes only its own handlers on release', (t) => {
  // Informers are never started, so nothing is dialled.
  const clientset = new Clientset('127.0.0.1:9');
  t.teardown(() => clientset.close());
  const factory = new SharedInformerFactory(clientset);
  const shared = factory.informerFor('Pod');
  shared.addEventHandler({ onAdd: () => undefined });

  const scope = factory.scope();
  const scoped = scope.informers.informerFor('Pod', { byName: (p) => [p.metadata?.name ?? ''] });
  t.is(scoped.store, shared.store, 'the same informer and cache');
  t.is(scoped.state, 'new');
  scoped.addEventHandler({ onAdd: () => undefined });
  scope.informers.informerFor('Node').addEventHandler({ onDelete: () => undefined });
  t.is(handlerCount(shared as Informer<ApiObject>), 2);
  t.is(handlerCount(factory.informerFor('Node') as Informer<ApiObject>), 1);

  scope.release();
  scope.release();
  t.is(handlerCount(shared as Informer<ApiObject>), 1, "the factory's own handler stays");
  t.is(handlerCount(factory.informerFor('Node') as Informer<ApiObject>), 0);
});

/** A clientset whose Pods are `api` (lists of one item answer the whole list: only the revision matters). */
function fakePods(api: FakeApi<Pod>): Clientset {
  const pods = {
    info: KINDS.Pod,
    listAll: () => api.list(),
    list: () => api.list(),
    watch: (o: { resourceVersion?: string }) => api.watch(o.resourceVersion ?? ''),
  };
  return { kind: () => pods } as unknown as Clientset;
}

const pod = (name: string): Pod => ({ metadata: { namespace: 'default', name } });

test('waitForCurrent: resolves once the informers reached the revision the server has now, rejects naming those behind', async (t) => {
  const api = new FakeApi<Pod>();
  api.upsert(pod('a'));
  const clock = new FakeClock();
  const factory = new SharedInformerFactory(fakePods(api), { clock });
  const informer = factory.informerFor('Pod');
  factory.start();
  await factory.waitForSync();
  t.teardown(() => factory.stop());
  await factory.waitForCurrent(1000);
  t.pass('caught up already: at once');

  // A write the informer has not seen yet (its watch lags).
  api.silently(() => api.upsert(pod('b')));
  let done = false;
  const waiting = factory.waitForCurrent(60_000).then(() => (done = true));
  for (let i = 0; i < 10; i++) await clock.advance(100);
  t.false(done, 'still behind the server');
  t.is(informer.store.get('default/b'), undefined);
  api.bookmark();
  await clock.advance(100);
  await waiting;
  t.true(done);

  api.silently(() => api.upsert(pod('c')));
  const late = factory.waitForCurrent(500);
  for (let i = 0; i < 6; i++) await clock.advance(100);
  const err = await t.throwsAsync(late);
  t.regex(err?.message ?? '', /informers still behind the server after 500 ms: Pod\?&& at 3 < 4/);
});
