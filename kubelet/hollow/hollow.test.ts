import test from 'ava';
import { HollowNetwork } from './network';
import { HollowRuntime } from './runtime';

const sandbox = { name: 'p', namespace: 'default', uid: 'u1' };

test('HollowNetwork hands out distinct addresses of the podCIDR (not .0, .1 or the broadcast) and takes them back', async (t) => {
  const net = new HollowNetwork();
  t.regex(net.notReady() ?? '', /no podCIDR/);
  await t.throwsAsync(net.setUp('a'), { message: /no podCIDR/ });
  net.setPodCIDR('10.128.3.0/30');
  t.is(net.notReady(), undefined);
  t.deepEqual(await net.setUp('a'), { ips: ['10.128.3.2'] });
  await t.throwsAsync(net.setUp('b'), { message: 'no free address in the podCIDR 10.128.3.0/30' });
  await net.tearDown('a');
  t.deepEqual(await net.setUp('b'), { ips: ['10.128.3.2'] });
  t.deepEqual(await net.garbageCollect(async () => []), ['b']);
});

test('HollowRuntime: a container runs until stopped; a sandbox stop kills what runs; waitContainer wakes on exit', async (t) => {
  const net = new HollowNetwork();
  net.setPodCIDR('10.128.0.0/24');
  const rt = new HollowRuntime(net, 'n0-');
  const sb = await rt.createSandbox(sandbox);
  t.deepEqual((await rt.sandboxStatus(sb)).ips, ['10.128.0.2']);
  const c = await rt.createContainer(sb, { name: 'c', image: 'pause' });
  await rt.startContainer(c);
  t.is((await rt.containerStatus(c)).state, 'running');
  const waited = rt.waitContainer(c);
  await rt.stopContainer(c);
  t.like(await waited, { state: 'exited', exitCode: 0, reason: 'Completed' });
  const c2 = await rt.createContainer(sb, { name: 'c2', image: 'pause' });
  await rt.startContainer(c2);
  await rt.stopSandbox(sb);
  t.like(await rt.containerStatus(c2), { state: 'exited', exitCode: 137 });
  t.like(await rt.sandboxStatus(sb), { state: 'notready', ips: [] });
  await t.throwsAsync(rt.createContainer(sb, { name: 'c3', image: 'pause' }), { message: /not ready/ });
  await rt.removeSandbox(sb);
  t.deepEqual(await rt.listSandboxes(), []);
  t.deepEqual(await rt.listContainers(), []);
  await t.throwsAsync(rt.containerStatus(c), { message: `container "${c}" not found` });
});
