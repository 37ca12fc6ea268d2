// The service proxy's nftables mode against the real kernel, in the network
// of integration/support/proxy-net.ts (namespaces of the test's own, nothing
// linked to the host): cluster IPs and NodePorts answer from every endpoint,
// from the node and from a pod (itself included: hairpin), ClientIP affinity
// holds, a service without endpoints is refused at once, endpoint changes
// are followed (a UDP flow too: its stale conntrack entry is deleted); switching from iptables mode to nftables mode and back
// leaves no rule of the other mode; --cleanup removes both. The host's
// iptables and nftables are only read, before and after.

import test from 'ava';
import { join } from 'node:path';
import type { Endpoints, Service } from '../api/gen/tsk/v1/core';
import { Clientset } from '../client/clientset';
import { nftCommand } from '../proxy';
import { startTestApiServer } from './support/apiserver';
import { startTestEtcd } from './support/etcd';
import { bodies, CLI, endpoints, hostRules, must, NODE_IP, POD_IPS, run, startNetwork, startProxyProcess } from './support/proxy-net';
import { tempDir } from './support/temp';
import { eventually } from './support/wait';
import { testTls, writeTestKubeconfig } from './support/pki';

/** The host's nftables ruleset without counters: what must not change. */
async function hostNft(): Promise<string> {
  return (await must(nftCommand(), ['list', 'ruleset'])).replace(/counter packets \d+ bytes \d+/g, 'counter');
}

test('nftables mode: cluster IPs and NodePorts balance over every endpoint, hairpin, affinity, reject without endpoints; switching modes leaves no rules of the other; cleanup removes everything', async (t) => {
  t.not(nftCommand(), 'nft', 'the nft tool is needed (Debian package "nftables")');
  const hostBefore = { iptables: await hostRules(), nft: await hostNft() };
  const dir = tempDir(t, 'tsk-proxy-nft-');
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
  const empty = await svc('empty', { type: 'NodePort', ports: [{ port: 80, protocol: 'TCP' }] });
  const dns = await svc('dns', { ports: [{ name: 'dns', port: 53, protocol: 'UDP', targetPort: { intVal: 5353 } }] });
  const dnsEndpoints = (ip: string): Endpoints => ({
    metadata: { namespace: 'default', name: 'dns' },
    subsets: [{ addresses: [{ ip }], ports: [{ name: 'dns', port: 5353, protocol: 'UDP' }] }],
  });
  await cs.endpoints.create(dnsEndpoints(POD_IPS[0] ?? ''));
  // web's pods say they run on this proxy's node (--hostname-override node-1): their hairpin pairs are written as local ones.
  await cs.endpoints.create(endpoints('web', POD_IPS, 'node-1'));
  await cs.endpoints.create(endpoints('sticky', POD_IPS));
  const webIP = web.spec?.clusterIP ?? '';
  const nodePort = web.spec?.ports?.[0]?.nodePort ?? 0;
  const emptyNodePort = empty.spec?.ports?.[0]?.nodePort ?? 0;

  // First the iptables mode, as a node running before the switch.
  const iptablesProxy = startProxyProcess(t, cluster, sock, kubeconfig);
  await eventually(async () => (await cluster.get(cluster.node, `${webIP}:80`)).code === 0, 30_000, 'the service to answer in iptables mode');
  t.is(await iptablesProxy.stop(), 0, iptablesProxy.output());
  t.regex(await cluster.nodeRules(), /TSK-SERVICES/);

  // The switch: the nftables mode's first sync removes the iptables mode's chains and jumps.
  const proxy = startProxyProcess(t, cluster, sock, kubeconfig, ['--proxy-mode', 'nftables']);
  t.teardown(() => {
    if (!t.passed) t.log(proxy.output());
  });
  await eventually(async () => /table ip tsk-proxy/.test(await cluster.nodeNft()), 30_000, 'the nftables table');
  await eventually(async () => !/TSK-/.test(await cluster.nodeRules()), 30_000, 'the iptables rules to go');
  // The log line follows the write (and the UDP conntrack clean-up after it): wait for it too.
  await eventually(() => /first sync done \(nftables mode\)/.test(proxy.output()), 30_000, 'the first sync to be logged');

  // Every endpoint gets traffic (missing one of three in 45 tries: p < 1e-7), from the node and from a pod (itself included).
  const all = await bodies(cluster, cluster.node, `${webIP}:80`, 45);
  t.deepEqual([...all.keys()].sort(), ['pod-1', 'pod-2', 'pod-3'], JSON.stringify([...all]));
  const fromAPod = await bodies(cluster, cluster.pods[0] ?? '', `${webIP}:80`, 45);
  t.regex(await cluster.nodeNft(), /set hairpin-endpoints \{[^}]*10\.250\.0\.11 \. 10\.250\.0\.11/);
  t.deepEqual([...fromAPod.keys()].sort(), ['pod-1', 'pod-2', 'pod-3'], JSON.stringify([...fromAPod]));

  // NodePort on the node's address, from the node and from a pod: every endpoint answers.
  const fromNode = await bodies(cluster, cluster.node, `${NODE_IP}:${nodePort}`, 45);
  t.deepEqual([...fromNode.keys()].sort(), ['pod-1', 'pod-2', 'pod-3'], JSON.stringify([...fromNode]));
  const fromPod = await bodies(cluster, cluster.pods[1] ?? '', `${NODE_IP}:${nodePort}`, 30);
  t.true(
    [...fromPod.keys()].every((b) => /^pod-\d$/.test(b)),
    JSON.stringify([...fromPod]),
  );

  // ClientIP affinity: one client always reaches the same pod.
  const stickyBodies = await bodies(cluster, cluster.node, `${sticky.spec?.clusterIP ?? ''}:80`, 12);
  t.is(stickyBodies.size, 1, JSON.stringify([...stickyBodies]));

  // No endpoints: refused at once (cluster IP and NodePort), not a timeout.
  for (const addr of [`${empty.spec?.clusterIP ?? ''}:80`, `${NODE_IP}:${emptyNodePort}`]) {
    const started = Date.now();
    const refused = await cluster.get(cluster.node, addr);
    t.not(refused.code, 0, addr);
    t.regex(refused.stderr, /refused/i, addr);
    t.true(Date.now() - started < 4000, `${addr} took ${Date.now() - started} ms`);
  }

  // Only ready endpoints: one removed through the API gets no traffic after the next (partial) sync.
  const current = await cs.endpoints.get('web', 'default');
  await cs.endpoints.update({
    ...endpoints('web', POD_IPS.slice(0, 2)),
    subsets: [
      { addresses: POD_IPS.slice(0, 2).map((ip) => ({ ip })), notReadyAddresses: [{ ip: POD_IPS[2] ?? '' }], ports: [{ port: 8080, protocol: 'TCP' }] },
    ],
    metadata: current.metadata,
  });
  await eventually(async () => !(await bodies(cluster, cluster.node, `${webIP}:80`, 15)).has('pod-3'), 30_000, 'web to stop sending to pod 3');
  const two = await bodies(cluster, cluster.node, `${webIP}:80`, 30);
  t.deepEqual([...two.keys()].sort(), ['pod-1', 'pod-2'], JSON.stringify([...two]));

  // UDP: a flow (same client port) moves to the new endpoint once the old one is removed, though the
  // old pod still answers: the proxy deleted the conntrack entry that kept sending it there.
  const dnsIP = dns.spec?.clusterIP ?? '';
  t.is(await cluster.udp(dnsIP, 53, 40_000), 'pod-1');
  const dnsNow = await cs.endpoints.get('dns', 'default');
  await cs.endpoints.update({ ...dnsEndpoints(POD_IPS[1] ?? ''), metadata: dnsNow.metadata });
  await eventually(async () => (await cluster.udp(dnsIP, 53, 40_000)) === 'pod-2', 15_000, 'the UDP flow to move to pod 2');

  // Endpoints for the empty service: it answers; a deleted service's chains and sets go.
  await cs.endpoints.create(endpoints('empty', [POD_IPS[2] ?? '']));
  await cs.services.delete('sticky');
  await eventually(
    async () => (await cluster.get(cluster.node, `${empty.spec?.clusterIP ?? ''}:80`)).stdout.trim() === 'pod-3',
    30_000,
    'the empty service to answer',
  );
  await eventually(async () => !(await cluster.nodeNft()).includes('default/sticky'), 30_000, 'the sticky chain and affinity sets to go');
  t.is(await proxy.stop(), 0, proxy.output());

  // Back to iptables mode: its first sync removes the nftables table.
  const again = startProxyProcess(t, cluster, sock, kubeconfig, ['--proxy-mode', 'iptables']);
  t.teardown(() => {
    if (!t.passed) t.log(again.output());
  });
  await eventually(async () => !/tsk-proxy/.test(await cluster.nodeNft()), 30_000, 'the nftables table to go');
  await eventually(async () => (await cluster.get(cluster.node, `${webIP}:80`)).code === 0, 30_000, 'the service to answer in iptables mode again');
  t.is(await again.stop(), 0, again.output());

  // Once more in nftables mode, then --cleanup removes both modes' rules.
  const last = startProxyProcess(t, cluster, sock, kubeconfig, ['--proxy-mode', 'nftables']);
  await eventually(async () => /table ip tsk-proxy/.test(await cluster.nodeNft()), 30_000, 'the nftables table again');
  t.is(await last.stop(), 0, last.output());
  const cleanup = await run('ip', ['netns', 'exec', cluster.node, process.execPath, CLI, '--cleanup']);
  t.is(cleanup.code, 0, cleanup.stderr);
  t.regex(cleanup.stdout, /removed the proxy's nftables rules and \d+ chain/);
  t.notRegex(await cluster.nodeNft(), /tsk-proxy/);
  t.notRegex(await cluster.nodeRules(), /TSK-/);
  t.not((await cluster.get(cluster.node, `${webIP}:80`)).code, 0, 'the cluster IP no longer answers');

  t.is(await hostRules(), hostBefore.iptables, "the host's iptables are unchanged");
  t.is(await hostNft(), hostBefore.nft, "the host's nftables are unchanged");
});
