// `tsk agent` flags: the kubelet's, plus the few of the proxy that a node
// needs besides them (k3s's agent takes both in one command line).

import { FLAG_HELP as KUBELET_HELP, parseFlags as parseKubeletFlags, POD_NETWORK_BACKENDS, type KubeletFlags, type PodNetworkBackend } from '../kubelet';
import { proxyModeFlag, type ProxyMode } from '../proxy';
import { hostPort, ipv4CidrFlag, parseFlagValues, splitArgv, UsageError } from '../util/flags';
import { errorMessage } from '../util/errors';

export { UsageError };

export interface AgentFlags {
  kubelet: KubeletFlags;
  proxyHttpAddress: string;
  /** --proxy-mode: the proxy's iptables (default) or nftables mode. */
  proxyMode: ProxyMode;
  /** The pods' range: the proxy masquerades traffic to cluster IPs from outside it (kube-proxy's --cluster-cidr). */
  clusterCidr: string | undefined;
  /** Keep the paths to other nodes' pod CIDRs (routes, and with vxlan the overlay); default true with the bridge network. */
  routes: boolean;
  /** How pods reach other nodes' pods (k3s's --flannel-backend): a VXLAN overlay (default) or routes via the nodes' InternalIPs. */
  backend: PodNetworkBackend;
  help: boolean;
}

const AGENT_ONLY = new Set(['proxy-http-address', 'proxy-mode', 'cluster-cidr', 'node-routes', 'pod-network-backend']);

export function parseAgentFlags(argv: readonly string[]): AgentFlags {
  const { picked: ownArgv, rest: kubeletArgv } = splitArgv(argv, AGENT_ONLY);
  const own = parseFlagValues(ownArgv, {
    'proxy-http-address': { type: 'string', default: '127.0.0.1:10256' },
    'proxy-mode': { type: 'string', default: 'iptables' },
    'cluster-cidr': { type: 'string' },
    'node-routes': { type: 'string', default: 'true' },
    'pod-network-backend': { type: 'string', default: 'vxlan' },
  });
  let kubelet: KubeletFlags;
  try {
    kubelet = parseKubeletFlags(kubeletArgv);
  } catch (err) {
    throw new UsageError(errorMessage(err));
  }
  const routes = own['node-routes'];
  if (routes !== 'true' && routes !== 'false') throw new UsageError(`--node-routes: "${routes}" must be true or false`);
  const backend = own['pod-network-backend'] as PodNetworkBackend;
  if (!POD_NETWORK_BACKENDS.includes(backend)) throw new UsageError(`--pod-network-backend: "${backend}" must be vxlan or host-gw`);
  const on = routes === 'true' && kubelet.network === 'bridge';
  const cidr = own['cluster-cidr'];
  if (cidr !== undefined) ipv4CidrFlag('cluster-cidr', cidr);
  return {
    kubelet,
    proxyHttpAddress: hostPort('proxy-http-address', own['proxy-http-address'], '127.0.0.1:10256'),
    proxyMode: proxyModeFlag('proxy-mode', own['proxy-mode']),
    clusterCidr: cidr,
    routes: on,
    backend,
    help: kubelet.help,
  };
}

const kubeletFlagLines = KUBELET_HELP.slice(KUBELET_HELP.indexOf('Flags:\n') + 'Flags:\n'.length);

export const AGENT_HELP = `Usage: tsk agent [FLAGS]

Runs a node in one process, as k3s's agent: the kubelet (registers the Node,
runs its pods with tsk's runtime, reports their status), the service proxy
(iptables rules for Services' cluster IPs and node ports), the cluster DNS
(answering the node's pods on the cluster DNS address, put on the tsk-dns
interface) and the paths to the other nodes' pod CIDRs (a VXLAN overlay,
or routes via their InternalIPs on one layer-2 network).

Kubelet flags:
${kubeletFlagLines}

Proxy and network flags:
  --proxy-http-address HOST:PORT         the proxy's /healthz and /metrics (default 127.0.0.1:10256)
  --proxy-mode iptables|nftables         the proxy's rules: iptables chains, or one nftables table (ip tsk-proxy)
                                         written in one transaction per sync; the first sync removes the other
                                         mode's rules (default iptables)
  --cluster-cidr CIDR                    the pods' range; traffic to cluster IPs from outside it is masqueraded
                                         (default: none)
  --pod-network-backend vxlan|host-gw    how pods reach other nodes' pods, as k3s's --flannel-backend: vxlan, an
                                         overlay (device tsk.1, VNI 1, UDP 8472) across any routed network between
                                         the nodes, pods' MTU 50 below the node's; host-gw, a route via each
                                         node's InternalIP, for nodes on one layer-2 network (default vxlan)
  --node-routes true|false               keep the backend's paths to the other nodes' pod CIDRs (false: neither
                                         overlay nor routes, the pod network stays node-local) (default true;
                                         off with --network loopback)`;
