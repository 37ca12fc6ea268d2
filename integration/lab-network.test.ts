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

test('two subnets: nodes on two bridges reach each other only through the router namespace, which forwards without NAT', async (t) => {
  const name = `t${randomBytes(3).toString('hex')}`;
  const plan = planLab({ name, nodes: 2, dataDir: '/tmp/unused', network: '172.30.0.0/24', subnets: 2 });
  const before = hostLinks();
  const hostForward = execFileSync('sysctl', ['-n', 'net.ipv4.ip_forward']).toString();
  t.teardown(() => removeLabNetwork(plan));
  await createLabNetwork(plan);
  t.is(hostLinks(), before, 'no link was added to the host namespace');
  t.is(execFileSync('sysctl', ['-n', 'net.ipv4.ip_forward']).toString(), hostForward, "the host's forwarding is untouched");
  const [n1, n2] = plan.nodes;
  const rt = plan.routerNetns ?? '';
  if (!n1 || !n2) throw new Error('two nodes planned');
  t.is(execFileSync('ip', ['netns', 'exec', rt, 'sysctl', '-n', 'net.ipv4.ip_forward']).toString().trim(), '1', 'the router forwards');
  t.is(
    execFileSync('ip', ['netns', 'exec', n1.netns, 'sysctl', '-n', 'net.ipv4.ip_forward']).toString().trim(),
    '0',
    'a node namespace starts without forwarding',
  );
  const ping = await exec('ip', ['netns', 'exec', n1.netns, '/bin/busybox', 'ping', '-c', '1', '-W', '2', n2.ip]);
  t.regex(ping.stdout, /ttl=63/, 'one hop: through the router');
  // Another segment: node 2's address is not on node 1's link, so it is no on-link gateway (what host-gw needs).
  t.regex(execFileSync('ip', ['-n', n1.netns, 'route', 'get', n2.ip]).toString(), new RegExp(`via ${plan.subnets[0]?.gateway ?? '?'} dev eth0`));
  await t.throwsAsync(exec('ip', ['-n', n1.netns, 'route', 'add', '10.244.9.0/24', 'via', n2.ip]), {
    message: /Nexthop has invalid gateway|Network is unreachable/,
  });
  t.is(
    execFileSync('ip', ['netns', 'exec', rt, 'iptables', '-t', 'nat', '-S'])
      .toString()
      .match(/MASQUERADE|SNAT/g),
    null,
    'no NAT in the router',
  );
  await removeLabNetwork(plan);
  for (const n of [plan.switchNetns, rt, ...plan.nodes.map((x) => x.netns)]) t.false(netnsList().includes(n), `${n} is gone`);
});
