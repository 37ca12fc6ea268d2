// Routes between nodes for real: two lab node namespaces, Node objects in a
// real API server, and the route syncer of node 1 acting in node 1's
// namespace. A "pod" address on node 2 becomes reachable from node 1.

import test from 'ava';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { Clientset } from '../client/clientset';
import { SharedInformerFactory } from '../client/informer-factory';
import { ipRunner, ROUTE_PROTO } from '../kubelet/routes/node-routes';
import { startRouteSyncer } from '../kubelet/routes/route-syncer';
import { createLabNetwork, removeLabNetwork } from '../lab/net';
import { planLab } from '../lab/topology';
import { startTestApiServer } from './support/apiserver';
import { startTestEtcd } from './support/etcd';
import { testTls } from './support/pki';
import { eventually } from './support/wait';

const exec = promisify(execFile);

test("a node routes to the other nodes' pod CIDRs via their InternalIPs, following the Node objects", async (t) => {
  const plan = planLab({ name: `r${randomBytes(3).toString('hex')}`, nodes: 2, dataDir: '/tmp/unused', network: '172.30.0.0/24' });
  t.teardown(() => removeLabNetwork(plan));
  await createLabNetwork(plan);
  const [n1, n2] = plan.nodes;
  if (!n1 || !n2) throw new Error('two nodes planned');
  // A pod address on node 2 (on its lo: no runtime is needed to answer pings).
  await exec('ip', ['-n', n2.netns, 'addr', 'add', '10.244.2.5/32', 'dev', 'lo']);

  const etcd = await startTestEtcd(t);
  const api = await startTestApiServer(t, etcd);
  const cs = new Clientset(api.server.grpcAddress, (await testTls()).admin);
  t.teardown(() => cs.close());
  for (const [n, cidr] of [
    [n1, '10.244.1.0/24'],
    [n2, '10.244.2.0/24'],
  ] as const) {
    await cs.nodes.create({ metadata: { name: n.name }, spec: { podCIDR: cidr } });
    const created = await cs.nodes.get(n.name);
    await cs.nodes.updateStatus({ ...created, status: { addresses: [{ type: 'InternalIP', address: n.ip }] } });
  }
  const informers = new SharedInformerFactory(cs);
  const logs: string[] = [];
  const syncer = startRouteSyncer({ informers, nodeName: n1.name, ip: ipRunner(n1.netns), log: (l) => logs.push(l), resyncMs: 500 });
  informers.start();
  t.teardown(async () => {
    syncer.stop();
    await informers.stop();
  });
  const ping = () => exec('ip', ['netns', 'exec', n1.netns, '/bin/busybox', 'ping', '-c', '1', '-W', '2', '10.244.2.5']);
  const routes = async () => (await exec('ip', ['-n', n1.netns, 'route', 'show', 'proto', String(ROUTE_PROTO)])).stdout.trim();
  await eventually(async () => (await routes()).includes('10.244.2.0/24'), 15_000, 'the route to node 2');
  t.regex(await routes(), new RegExp(`^10\\.244\\.2\\.0/24 via ${n2.ip.replace(/\./g, '\\.')} dev eth0`));
  t.notRegex(await routes(), /10\.244\.1\.0/, 'no route to its own pod CIDR');
  await t.notThrowsAsync(ping(), 'node 1 reaches a pod address on node 2');
  t.true(logs.some((l) => l.includes(`route 10.244.2.0/24 via ${n2.ip}`)));

  // Someone deletes the route by hand: the periodic resync puts it back.
  await exec('ip', ['-n', n1.netns, 'route', 'del', '10.244.2.0/24']);
  await eventually(async () => (await routes()).includes('10.244.2.0/24'), 15_000, 'the route to come back');

  // A route of somebody else's is left alone; node 2's deletion removes ours.
  await exec('ip', ['-n', n1.netns, 'route', 'add', '10.99.0.0/16', 'via', n2.ip]);
  await cs.nodes.delete(n2.name);
  await eventually(async () => (await routes()) === '', 15_000, 'the route to go');
  t.regex((await exec('ip', ['-n', n1.netns, 'route'])).stdout, /10\.99\.0\.0\/16/);
  await t.throwsAsync(ping());
});
