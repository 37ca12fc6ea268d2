// `tsk agent`: a node in one process (k3s's agent role). Start-up is a
// straight list on one set of shared informers: the kubelet, the service
// proxy, the routes to the other nodes. Stopping leaves the pods running
// and the proxy's rules in place, as stopping the kubelet and kube-proxy does.

import { Registry } from 'prom-client';
import {
  SharedInformerFactory,
  credentialsDir,
  openFailoverClient,
  type Clientset,
  type ServerLearning,
  nodeServing,
  resolveClusterDNS,
  resolveComponentClientFromFlags,
} from '../client';
import {
  buildNodeRuntime,
  hostGwBackend,
  ipRunner,
  kubeletPort,
  kubeletServing,
  startKubelet,
  startRouteSyncer,
  underlayDevice,
  vxlanBackend,
  VXLAN_OVERHEAD,
  type RouteSyncer,
  type RunningKubelet,
} from '../kubelet';
import { listenProxyHealthServer, startProxy, type RunningProxy } from '../proxy';
import { startClusterDns, type RunningClusterDns } from '../dns';
import { needsHttps, type ListeningHealthServer } from '../util/health-server';
import { onShutdownSignals } from '../util/signals';
import { AGENT_HELP, parseAgentFlags, type AgentFlags } from './agent-flags';
import { runCommand } from '../util/cli/command';

function log(line: string): void {
  console.log(`tsk agent: ${line}`);
}

interface Parts {
  clientset?: Clientset;
  learning?: ServerLearning;
  informers?: SharedInformerFactory;
  kubelet?: RunningKubelet;
  proxy?: RunningProxy;
  proxyHealth?: ListeningHealthServer;
  routes?: RouteSyncer;
  dns?: RunningClusterDns;
}

async function stopAll(p: Parts): Promise<void> {
  p.routes?.stop();
  // A clean stop takes the cluster DNS address off the node (tsk-dns); the next start puts it back.
  await p.dns?.stop().catch((err: unknown) => log(`cluster DNS: ${String(err)}`));
  await p.proxyHealth?.close();
  await p.proxy?.stop();
  await p.kubelet?.stop();
  await p.informers?.stop();
  p.learning?.stop();
  p.clientset?.close();
}

async function start(flags: AgentFlags, parts: Parts): Promise<void> {
  const k = flags.kubelet;
  // A node that joined with a token (now or on an earlier start) is system:node:NAME.
  const target = await resolveComponentClientFromFlags(k, 'node', log, k.nodeName);
  const server = target.server;
  // Both ports beyond loopback are HTTPS only, with the node's serving certificate: got before anything starts.
  const kubeletTls = await kubeletServing(k, target, log);
  const proxyTls = await nodeServing('--proxy-http-address', flags.proxyHttpAddress, {
    server,
    credentials: target.credentials,
    nodeName: k.nodeName,
    nodeIPs: [k.nodeIP],
    dir: credentialsDir(k.dataDir, 'node'),
    log,
  });
  const failover = await openFailoverClient(target, credentialsDir(k.dataDir, 'node'), log);
  parts.clientset = failover.clientset;
  parts.learning = failover.learning;
  parts.informers = new SharedInformerFactory(parts.clientset);
  const vxlan = flags.routes && flags.backend === 'vxlan';
  // Checked here, after joining, not among the flags: a node without an address still joins and says what is missing.
  if (vxlan && !k.nodeIP) throw new Error("--pod-network-backend vxlan: needs --node-ip (the VXLAN device's local address), or --node-routes false");
  // Pods' packets get 50 bytes of VXLAN headers around them: their MTU leaves room for it (flannel's subnet.env FLANNEL_MTU).
  const mtu = vxlan ? (await underlayDevice(ipRunner(), k.nodeIP)).mtu - VXLAN_OVERHEAD : undefined;
  const node = buildNodeRuntime(k, mtu);
  log(
    `node ${k.nodeName}, API server ${server}, data in ${node.dataDir}, ${k.network} network` +
      (flags.routes ? `, ${flags.backend} backend${mtu ? ` (pod MTU ${mtu})` : ''}` : ''),
  );
  // Flags, else the kube-dns Service the server keeps: agents need no DNS flags when the server has its own values.
  const clusterDns = await resolveClusterDNS(parts.clientset, k, log);
  parts.kubelet = await startKubelet({
    clientset: parts.clientset,
    informers: parts.informers,
    runtime: node.runtime,
    images: node.images,
    network: node.network,
    nodeName: k.nodeName,
    dataDir: node.dataDir,
    nodeIP: k.nodeIP,
    podCIDR: k.podCIDR,
    maxPods: k.maxPods,
    systemReserved: k.systemReserved,
    nodeStatusUpdateFrequencyMs: k.nodeStatusUpdateFrequencyMs,
    nodeStatusReportFrequencyMs: k.nodeStatusReportFrequencyMs,
    nodeLeaseDurationSeconds: k.nodeLeaseDurationSeconds,
    resyncPeriodMs: k.syncFrequencyMs,
    httpAddress: k.httpAddress,
    ...(kubeletTls.tls && needsHttps(k.httpAddress, '--http-address') ? { httpTls: kubeletTls.tls } : {}),
    port: kubeletPort(k, kubeletTls, node.runtime),
    allowedUnsafeSysctls: k.allowedUnsafeSysctls,
    ...(clusterDns ? { clusterDNS: clusterDns.ip, clusterDomain: clusterDns.domain } : {}),
    resolvConf: k.resolvConf,
    log: (l) => log(`kubelet: ${l}`),
  });
  const kubelet = parts.kubelet;
  kubeletTls.keepRenewed((tls) => kubelet.setHttpTls(tls));
  log(`kubelet running; /healthz and /metrics on ${needsHttps(k.httpAddress) ? 'https' : 'http'}://${parts.kubelet.httpAddress ?? k.httpAddress}`);
  if (kubelet.portAddress) log(`kubelet's port on https://${kubelet.portAddress} (/metrics, /metrics/cadvisor, /metrics/resource, /healthz)`);
  // One registry for the proxy's and the cluster DNS's metrics, served on --proxy-http-address.
  const metrics = new Registry();
  parts.proxy = await startProxy({
    clientset: parts.clientset,
    informers: parts.informers,
    nodeName: k.nodeName,
    ...(k.nodeIP ? { nodeIPs: [k.nodeIP] } : {}),
    ...(flags.clusterCidr ? { clusterCIDR: flags.clusterCidr } : {}),
    mode: flags.proxyMode,
    registry: metrics,
    stopInformers: false,
    log: (l) => log(`proxy: ${l}`),
  });
  if (clusterDns) {
    // NodeLocal DNSCache's placement: every node answers at the cluster DNS address itself.
    parts.dns = await startClusterDns({
      informers: parts.informers,
      ip: clusterDns.ip,
      domain: clusterDns.domain,
      resolvConf: k.resolvConf,
      registry: metrics,
      log: (l) => log(`dns: ${l}`),
    });
    log(
      `cluster DNS answering ${clusterDns.domain} on ${clusterDns.ip}:53 (interface tsk-dns), forwarding other names to ${parts.dns.upstreams.join(', ') || 'nobody'}`,
    );
  }
  const proxy = parts.proxy;
  const proxyHealth = await listenProxyHealthServer(flags.proxyHttpAddress, proxy.registry, () => proxy.health(), proxyTls.tls);
  parts.proxyHealth = proxyHealth;
  proxyTls.keepRenewed((tls) => proxyHealth.setTls(tls));
  log(`proxy running; /healthz and /metrics on ${proxyHealth.scheme}://${proxyHealth.address}`);
  if (flags.routes) {
    const ip = ipRunner();
    const backend = vxlan
      ? vxlanBackend({ ip, bridge: ipRunner(undefined, 'bridge'), nodeName: k.nodeName, nodeIp: k.nodeIP, nodes: parts.clientset.nodes })
      : hostGwBackend(ip, k.nodeName);
    parts.routes = startRouteSyncer({ informers: parts.informers, nodeName: k.nodeName, ip, backend, log: (l) => log(`${flags.backend}: ${l}`) });
    log(`${flags.backend}: the paths to the other nodes' pod CIDRs are kept in step with the Nodes`);
  }
}

export function main(argv: string[]): Promise<number> {
  return runCommand({ name: 'tsk agent', parse: (a) => parseAgentFlags(a), help: AGENT_HELP, run }, argv);
}

async function run(flags: AgentFlags): Promise<number> {
  const shutdown = onShutdownSignals();
  // The libraries' timers do not hold the process (unref'd): this does, until told to stop.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  const parts: Parts = {};
  try {
    const starting = start(flags, parts);
    const first = await Promise.race([starting.then(() => 'started' as const), shutdown.received.then(() => 'signal' as const)]);
    if (first === 'signal') {
      // Let start-up settle so that everything it made is stopped below.
      await starting.catch(() => undefined);
      log('interrupted while starting');
      return 1;
    }
    log(`received ${await shutdown.received}, stopping (pods keep running, proxy rules stay)`);
    return 0;
  } finally {
    await stopAll(parts);
    shutdown.dispose();
    clearInterval(keepAlive);
  }
}
