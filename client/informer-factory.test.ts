import test from 'ava';
import { Clientset } from './clientset';
import { SharedInformerFactory } from './informer-factory';
import type { Informer } from './informer';
import type { ApiObject } from '../api/kinds';

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
