import test from 'ava';
import { Clientset } from './clientset';
import { FencedWriteError, fencedClientset } from './fence';

test("a term's clientset refuses every write once the term stopped; reads and Events are untouched", async (t) => {
  // Nothing is dialled: only refused writes are called.
  const cs = new Clientset('127.0.0.1:9');
  t.teardown(() => cs.close());
  let stopped = false;
  const fenced = fencedClientset(cs, () => stopped, 'controller manager');
  t.is(fenced.events, cs.events, 'Events are not fenced');
  t.is(fenced.address, cs.address);
  t.is(fenced.pods, fenced.pods, 'one fenced client per kind');
  t.is(fenced.pods.info, cs.pods.info);
  stopped = true;
  const refused = [
    () => fenced.pods.create({ metadata: { name: 'p' } }),
    () => fenced.pods.bind('default', 'p', 'n1'),
    () => fenced.pods.updateStatus({ metadata: { name: 'p' } }),
    () => fenced.replicationControllers.update({ metadata: { name: 'rc' } }),
    () => fenced.kind('Endpoints').delete('ep'),
    () => fenced.resource('svc').create({ metadata: { name: 's' } }),
    () => fenced.leases.update({ metadata: { name: 'l' } }),
  ];
  for (const write of refused) {
    const err = await t.throwsAsync(write(), { instanceOf: FencedWriteError });
    t.is(err?.message, 'controller manager: not the leader any more; write refused');
  }
  t.is(typeof fenced.pods.get, 'function', 'reads are passed through');
});
