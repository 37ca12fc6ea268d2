// The service proxy against real iptables, inside network namespaces this
// test creates: a "node" namespace with a bridge, three "pod" namespaces
// joined to it by veth pairs, each running busybox httpd that answers with
// its pod's name. Nothing links to the host namespace and nothing routes out.
// The proxy runs as a child process in the node namespace and reaches the
// API server (in this process) through a unix socket. The host's iptables
// are only read, before and after, to check they are untouched.

import test from 'ava';
import { join } from 'node:path';
import type { Endpoints, Service } from '../api/gen/tsk/v1/core';
import { Clientset } from '../client/clientset';
import { startTestApiServer } from './support/apiserver';
import { startTestEtcd } from './support/etcd';
import { bodies, CLI, endpoints, hostRules, NODE_IP, POD_IPS, run, startNetwork, startProxyProcess } from './support/proxy-net';
import { tempDir } from './support/temp';
import { eventually } from './support/wait';
import { testTls, writeTestKubeconfig } from './support/pki';

test('cluster IPs balance over every endpoint, follow endpoint changes, reject without endpoints; NodePorts, ClientIP affinity and UDP work; cleanup removes everything', async (t) => {
  const hostBefore = await hostRules();
  t.is((await run('sh', ['-c', 'command -v conntrack'])).code, 0, 'the conntrack tool is needed (Debian package "conntrack")');
  const dir = tempDir(t, 'tsk-proxy-');
  const etcd = await startTestEtcd(t);
  const sock = join(dir, 'api.sock');
  const { server } = await startTestApiServer(t, etcd, { address: `127.0.0.1:0,unix:${sock}` });
  const cs = new Clientset(server.grpcAddress, (await testTls()).admin);
  t.teardown(() => cs.close());
  const kubeconfig = await writeTestKubeconfig(join(dir, 'config'), `unix:${sock}`);
  const cluster = await startNetwork(t, dir);

  const svc = (name: string, spec: Service['spec']): Promise<Service> => cs.services.create({ metadata: { namespace: 'default', name }, spec });
  const web = await svc('web', { type: 'NodePort', ports: [{ port: 80, protocol: 'TCP', targetPort: { intVal: 8080 } }] });
  const sticky = await svc('sticky', { sessionAffinity: 'ClientIP', ports: [{ port: 80, protocol: 'TCP', targetPort: { intVal: 8080 } }] });
  const empty = await svc('empty', { ports: [{ port: 80, protocol: 'TCP' }] });
  const dns = await svc('dns', { ports: [{ name: 'dns', port: 53, protocol: 'UDP', targetPort: { intVal: 5353 } }] });
  const dnsEndpoints = (ip: string): Endpoints => ({
    metadata: { namespace: 'default', name: 'dns' },
    subsets: [{ addresses: [{ ip }], ports: [{ name: 'dns', port: 5353, protocol: 'UDP' }] }],
  });
  await cs.endpoints.create(dnsEndpoints(POD_IPS[0] ?? ''));
  await cs.endpoints.create(endpoints('web', POD_IPS));
  await cs.endpoints.create(endpoints('sticky', POD_IPS));
  const webIP = web.spec?.clusterIP ?? '';
  const nodePort = web.spec?.ports?.[0]?.nodePort ?? 0;
  t.regex(webIP, /^10\.96\./);
  t.true(nodePort >= 30000);

  const proxy = startProxyProcess(t, cluster, sock, kubeconfig);
  t.teardown(() => {
    if (!t.passed) t.log(proxy.output());
  });
  await eventually(async () => (await cluster.get(cluster.node, `${webIP}:80`)).code === 0, 30_000, 'the service to answer');
  const health = await cluster.get(cluster.node, '127.0.0.1:10256/healthz');
  t.is(health.code, 0, health.stderr);
  t.regex(health.stdout, /"lastUpdated":"\d{4}-/);
  const metrics = await cluster.get(cluster.node, '127.0.0.1:10256/metrics');
  t.regex(metrics.stdout, /kubeproxy_sync_proxy_rules_duration_seconds_count [1-9]/);

  // Every endpoint gets traffic (missing one of three in 45 tries: p < 1e-7).
  const all = await bodies(cluster, cluster.node, `${webIP}:80`, 45);
  t.deepEqual([...all.keys()].sort(), ['pod-1', 'pod-2', 'pod-3'], JSON.stringify([...all]));

  // From a pod too, itself included (hairpin: masqueraded so its reply returns through the node).
  const fromAPod = await bodies(cluster, cluster.pods[0] ?? '', `${webIP}:80`, 45);
  t.deepEqual([...fromAPod.keys()].sort(), ['pod-1', 'pod-2', 'pod-3'], JSON.stringify([...fromAPod]));

  // NodePort on the node's address, from the node and from a pod (through PREROUTING, masqueraded).
  const fromNode = await bodies(cluster, cluster.node, `${NODE_IP}:${nodePort}`, 10);
  t.true(
    [...fromNode.keys()].every((b) => /^pod-\d$/.test(b)),
    JSON.stringify([...fromNode]),
  );
  const fromPod = await bodies(cluster, cluster.pods[0] ?? '', `${NODE_IP}:${nodePort}`, 10);
  t.true(
    [...fromPod.keys()].every((b) => /^pod-\d$/.test(b)),
    JSON.stringify([...fromPod]),
  );

  // ClientIP affinity: one client always reaches the same pod.
  const stickyBodies = await bodies(cluster, cluster.node, `${sticky.spec?.clusterIP ?? ''}:80`, 12);
  t.is(stickyBodies.size, 1, JSON.stringify([...stickyBodies]));

  // No endpoints: refused at once by the REJECT rule, not a timeout.
  const started = Date.now();
  const refused = await cluster.get(cluster.node, `${empty.spec?.clusterIP ?? ''}:80`);
  t.not(refused.code, 0);
  t.regex(refused.stderr, /refused/i);
  t.true(Date.now() - started < 4000, `took ${Date.now() - started} ms`);

  // Removing an endpoint through the API stops traffic to it after the next sync.
  const current = await cs.endpoints.get('web', 'default');
  await cs.endpoints.update({ ...endpoints('web', POD_IPS.slice(0, 2)), metadata: current.metadata });
  await eventually(async () => !(await cluster.nodeRules()).includes(`default/web -> ${POD_IPS[2]}:8080`), 30_000, 'the rules to drop pod 3');
  const two = await bodies(cluster, cluster.node, `${webIP}:80`, 30);
  t.deepEqual([...two.keys()].sort(), ['pod-1', 'pod-2'], JSON.stringify([...two]));

  // UDP: a flow (same client port) moves to the new endpoint once the old one is removed, though the
  // old pod still answers: the proxy deleted the conntrack entry that kept sending it there.
  const dnsIP = dns.spec?.clusterIP ?? '';
  t.is(await cluster.udp(dnsIP, 53, 40_000), 'pod-1');
  const dnsNow = await cs.endpoints.get('dns', 'default');
  await cs.endpoints.update({ ...dnsEndpoints(POD_IPS[1] ?? ''), metadata: dnsNow.metadata });
  await eventually(async () => (await cluster.udp(dnsIP, 53, 40_000)) === 'pod-2', 15_000, 'the UDP flow to move to pod 2');

  // The endpoints come back for the service that had none; a deleted service's chains go.
  await cs.endpoints.create(endpoints('empty', [POD_IPS[2] ?? '']));
  await cs.services.delete('sticky');
  await eventually(
    async () => (await cluster.get(cluster.node, `${empty.spec?.clusterIP ?? ''}:80`)).stdout.trim() === 'pod-3',
    30_000,
    'the empty service to answer',
  );
  await eventually(async () => !(await cluster.nodeRules()).includes('default/sticky'), 30_000, 'the sticky chains to go');

  // Stopping leaves the rules; a service deleted meanwhile loses its chains when the next proxy starts.
  t.is(await proxy.stop(), 0, proxy.output());
  t.is((await cluster.get(cluster.node, `${webIP}:80`)).code, 0, 'traffic still flows while the proxy is down');
  await cs.services.delete('empty');
  const emptyChains = (await cluster.nodeRules()).match(/^:TSK-(SVC|SEP)-\w+/gm)?.length ?? 0;
  const again = startProxyProcess(t, cluster, sock, kubeconfig);
  t.teardown(() => {
    if (!t.passed) t.log(again.output());
  });
  await eventually(async () => !(await cluster.nodeRules()).includes('default/empty'), 30_000, 'the stale chains of the deleted service to go');
  const rules = await cluster.nodeRules();
  t.is(rules.match(/^:TSK-(SVC|SEP)-\w+/gm)?.length ?? 0, emptyChains - 2, 'its service and endpoint chains are deleted');
  t.is(rules.match(/-j TSK-SERVICES$/gm)?.length, 4, 'one jump from each of nat PREROUTING, OUTPUT and filter FORWARD, OUTPUT: none added twice');
  t.is((await cluster.get(cluster.node, `${webIP}:80`)).code, 0);
  t.is(await again.stop(), 0, again.output());

  // --cleanup removes every chain and jump of the proxy.
  const cleanup = await run('ip', ['netns', 'exec', cluster.node, process.execPath, CLI, '--cleanup']);
  t.is(cleanup.code, 0, cleanup.stderr);
  t.regex(cleanup.stdout, /removed the proxy's iptables rules and \d+ chain/);
  t.notRegex(await cluster.nodeRules(), /TSK-/);
  t.not((await cluster.get(cluster.node, `${webIP}:80`)).code, 0, 'the cluster IP no longer answers');

  t.is(await hostRules(), hostBefore, "the host's iptables are unchanged");
});
