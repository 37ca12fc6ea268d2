// tsk lab's network for real: node namespaces joined through a bridge in a
// switch namespace, reachable from each other and from nowhere else.

import test from 'ava';
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { createLabNetwork, removeLabNetwork } from '../lab/net';
import { planLab } from '../lab/topology';

const exec = promisify(execFile);
const hostLinks = (): string =>
  execFileSync('ip', ['-o', 'link'])
    .toString()
    .split('\n')
    .map((l) => l.split(':')[1]?.trim())
    .sort()
    .join(',');
const netnsList = (): string => execFileSync('ip', ['netns', 'list']).toString();

test('nodes reach each other over the lab bridge; nothing appears in the host namespace; down removes it all', async (t) => {
  const name = `t${randomBytes(3).toString('hex')}`;
  const plan = planLab({ name, nodes: 3, dataDir: '/tmp/unused', network: '172.30.0.0/24' });
  const before = hostLinks();
  t.teardown(() => removeLabNetwork(plan));
  await createLabNetwork(plan);
  t.is(hostLinks(), before, 'no link was added to the host namespace');
  const [n1, n2, n3] = plan.nodes;
  if (!n1 || !n2 || !n3) throw new Error('three nodes planned');
  const ping = (from: string, to: string) => exec('ip', ['netns', 'exec', from, '/bin/busybox', 'ping', '-c', '1', '-W', '2', to]);
  await t.notThrowsAsync(ping(n1.netns, n2.ip));
  await t.notThrowsAsync(ping(n3.netns, n1.ip));
  const routes = execFileSync('ip', ['-n', n1.netns, 'route']).toString();
  t.notRegex(routes, /default/, 'no route out of the lab');
  // Asked without sending anything: the kernel has no route out of the lab.
  await t.throwsAsync(exec('ip', ['-n', n1.netns, 'route', 'get', '192.0.2.1']), { message: /unreachable/ });
  await removeLabNetwork(plan);
  await removeLabNetwork(plan); // idempotent
  for (const n of [plan.switchNetns, ...plan.nodes.map((x) => x.netns)]) t.false(netnsList().includes(n), `${n} is gone`);
});

test('a failed build removes what it had made', async (t) => {
  const name = `t${randomBytes(3).toString('hex')}`;
  const plan = planLab({ name, nodes: 2, dataDir: '/tmp/unused', network: '172.30.0.0/24' });
  // Make the second node's namespace exist already, so its "ip netns add" fails midway.
  const clash = plan.nodes[1]?.netns ?? '';
  execFileSync('ip', ['netns', 'add', clash]);
  t.teardown(async () => {
    await removeLabNetwork(plan);
    await exec('ip', ['netns', 'delete', clash]).catch(() => undefined);
  });
  await t.throwsAsync(createLabNetwork(plan), { message: new RegExp(`lab network: ip netns add ${clash}`) });
  t.false(netnsList().includes(plan.switchNetns));
  t.false(netnsList().includes(plan.nodes[0]?.netns ?? '?'));
});
