// The pod network as the kubelet holds it: not ready until the podCIDR is
// known, then the real network; garbage collection never races a set-up.

import test from 'ava';
import { CidrPodNetwork, NetworkNotReadyError, type CollectableHook } from './pod-network';

class FakeBridge implements CollectableHook {
  readonly log: string[] = [];
  release: (() => void) | undefined;
  constructor(readonly cidr: string) {}
  async setUp(id: string): Promise<{ ips: string[] }> {
    this.log.push(`setUp ${id}`);
    if (id === 'slow') await new Promise<void>((r) => (this.release = r));
    this.log.push(`setUp ${id} done`);
    return { ips: ['10.244.1.2'] };
  }
  async tearDown(id: string): Promise<void> {
    this.log.push(`tearDown ${id}`);
  }
  async garbageCollect(live: Iterable<string>): Promise<string[]> {
    this.log.push(`gc keeping ${[...live].join(',')}`);
    return [];
  }
}

test('not ready until the podCIDR is set; then the network built from it', async (t) => {
  const built: FakeBridge[] = [];
  const net = new CidrPodNetwork((cidr) => {
    const b = new FakeBridge(cidr);
    built.push(b);
    return b;
  });
  t.is(net.notReady(), 'network not ready: the node has no podCIDR yet');
  await t.throwsAsync(net.hook.setUp('s1', '/x', { name: 'p', namespace: 'd', uid: 'u' }), { instanceOf: NetworkNotReadyError });
  await net.hook.tearDown('s1', '/x');
  t.deepEqual(await net.garbageCollect(async () => []), []);
  net.setPodCIDR('');
  t.truthy(net.notReady());
  net.setPodCIDR('10.244.1.0/24');
  net.setPodCIDR('10.244.1.0/24');
  t.is(built.length, 1);
  t.is(built[0]?.cidr, '10.244.1.0/24');
  t.is(net.notReady(), undefined);
  t.deepEqual(await net.hook.setUp('s1', '/x', { name: 'p', namespace: 'd', uid: 'u' }), { ips: ['10.244.1.2'] });
  t.throws(() => net.setPodCIDR('10.244.9.0/24'), { message: /changed from 10.244.1.0\/24 to 10.244.9.0\/24/ });
});

test('garbage collection waits for set-ups in flight and lists the live sandboxes after them', async (t) => {
  let bridge: FakeBridge | undefined;
  const net = new CidrPodNetwork((cidr) => (bridge = new FakeBridge(cidr)));
  net.setPodCIDR('10.244.1.0/24');
  const setUp = net.hook.setUp('slow', '/x', { name: 'p', namespace: 'd', uid: 'u' });
  await new Promise((r) => setImmediate(r));
  const live = ['other'];
  const gc = net.garbageCollect(async () => {
    bridge?.log.push('listing');
    return live;
  });
  await new Promise((r) => setImmediate(r));
  t.deepEqual(bridge?.log, ['setUp slow'], 'the collection waits');
  live.push('slow');
  bridge?.release?.();
  await setUp;
  await gc;
  t.deepEqual(bridge?.log, ['setUp slow', 'setUp slow done', 'listing', 'gc keeping other,slow']);
});
