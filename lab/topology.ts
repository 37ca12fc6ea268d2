// The plan of a lab cluster: every name and address, computed from the
// cluster's name, its node count and the node network, before anything is
// created. Pure, so `up`, `down` and the tests agree on what exists.
//
// Like kind, a lab is one control plane (or, with --servers N, N servers
// each in a namespace of its own) and N nodes on one machine; unlike
// kind, the nodes are not containers but network namespaces joined by a
// bridge that lives in a "switch" namespace of its own. With several
// subnets, each subnet has its own bridge (its own layer-2 segment) and a
// router namespace joins them: nodes of two subnets reach each other only
// through the router, as VMs in two subnets of a cloud. Nothing is linked to
// the host's network namespace: the nodes reach the API server through a
// unix socket, which is a file.

import { formatIPv4, InvalidCidrError, parseIPv4, parseIPv4Cidr, type Ipv4Cidr } from '../util/ipv4';

export interface LabNode {
  /** The Node's name in the API (--hostname-override). */
  readonly name: string;
  /** The node's network namespace (under /var/run/netns). */
  readonly netns: string;
  /** The node's address on the lab network (--node-ip), and its prefix length. */
  readonly ip: string;
  readonly prefix: number;
  /** The switch-side end of the node's veth (in the switch namespace); the node side is eth0. */
  readonly switchPort: string;
  /** The index of the node's subnet in LabPlan.subnets. */
  readonly subnet: number;
  /** Data directory of the node's agent. */
  readonly dataDir: string;
  /** The node's cgroup parent, so nodes' pods are apart as kind's nodes' are. */
  readonly cgroupRoot: string;
  /** The node's end of its link to the API server (its agent's --server), relayed to LabPlan.apiSocket. */
  readonly apiSocket: string;
}

/** A server of the lab: its name in `tsk lab status`/`kill`/`start`, and its data directory. */
export interface LabServer {
  readonly name: string;
  readonly dataDir: string;
  /**
   * With several servers (HA), each runs in a namespace of its own on the
   * first subnet's bridge, as the servers of k3s's HA setup on their own VMs;
   * the one server of a one-server lab has none (it runs in the host's).
   */
  readonly ha?: LabServerMachine;
}

/** Where a server of an HA lab runs: its namespace, address on br0, switch port, and the unix socket tsctl on the host reaches it by. */
export interface LabServerMachine {
  readonly netns: string;
  readonly ip: string;
  readonly prefix: number;
  readonly switchPort: string;
  readonly apiSocket: string;
}

/** One layer-2 segment of the lab: a bridge in the switch namespace. */
export interface LabSubnet {
  readonly bridge: string;
  readonly base: string;
  readonly prefix: number;
  /** The router's address on it (.1), with several subnets. */
  readonly gateway: string;
  /** The switch-side end of the router's veth on this bridge; the router side is eth<index>. */
  readonly routerPort: string;
}

export interface LabPlan {
  readonly name: string;
  readonly dir: string;
  /** The switch namespace holding bridge br0. */
  readonly switchNetns: string;
  /** The first subnet's bridge and network (the only ones with one subnet). */
  readonly bridge: string;
  readonly network: { readonly base: string; readonly prefix: number };
  readonly subnets: readonly LabSubnet[];
  /** The namespace routing between the subnets (ip_forward on there only, no NAT); undefined with one subnet. */
  readonly routerNetns: string | undefined;
  /** Service ClusterIPs (the server's --service-cidr): every node routes it to its own eth0 so the proxy's DNAT sees it. */
  readonly serviceCidr: string;
  /** The API server's unix socket (the nodes reach it through their link, LabNode.apiSocket). */
  readonly apiSocket: string;
  /** The first server's data directory (its token and admin.conf are what the agents use). */
  readonly serverDataDir: string;
  /** server-1 .. server-N: the lab's machines that run `tsk server`. */
  readonly servers: readonly LabServer[];
  readonly nodes: readonly LabNode[];
}

export interface PlanInput {
  name: string;
  nodes: number;
  /** Number of servers; default 1. */
  servers?: number;
  /** Lab state lives in <dataDir>/lab/<name>. */
  dataDir: string;
  /** The node network, e.g. 172.30.0.0/24; nodes get .2, .3, ... (.1 is left for a gateway). */
  network: string;
  /** Default 10.96.0.0/16, the API server's default. */
  serviceCidr?: string;
  /**
   * Number of subnets (default 1): subnet k is the k-th block of `network`'s
   * size after it (172.30.0.0/24, 172.30.1.0/24, ...); node i goes into subnet
   * (i-1) mod subnets, so node 1 and node 2 are on different segments.
   */
  subnets?: number;
}

const NAME_RE = /^[a-z0-9]([-a-z0-9]{0,18}[a-z0-9])?$/;
export const MAX_NODES = 250;
export const MAX_SUBNETS = 8;
export const DEFAULT_SERVICE_CIDR = '10.96.0.0/16';

/** Parses A.B.C.D/N; the base is masked. Throws an Error saying what is wrong. */
export function parseCidr(text: string): { base: string; prefix: number } {
  const example = '172.30.0.0/24';
  const badPrefix = new Error(`"${text}": the prefix must be between /8 and /29`);
  let cidr: Ipv4Cidr;
  try {
    cidr = parseIPv4Cidr(text, example);
  } catch (err) {
    if (!(err instanceof InvalidCidrError) || err.problem === 'address' || err.problem === 'syntax') throw err;
    throw err.problem === 'prefix' ? badPrefix : new Error(`"${text}" is not an IPv4 CIDR such as ${example}`);
  }
  if (cidr.prefix < 8 || cidr.prefix > 29) throw badPrefix;
  return { base: formatIPv4(cidr.network), prefix: cidr.prefix };
}

export function planLab(input: PlanInput): LabPlan {
  if (!NAME_RE.test(input.name))
    throw new Error(`lab name "${input.name}" must be 1-20 lower-case letters, digits or "-", starting and ending with a letter or digit`);
  if (!Number.isInteger(input.nodes) || input.nodes < 1 || input.nodes > MAX_NODES) throw new Error(`--nodes must be 1-${MAX_NODES}, not ${input.nodes}`);
  const servers = input.servers ?? 1;
  if (!Number.isInteger(servers) || servers < 1) throw new Error(`--servers must be 1 or more, not ${servers}`);
  const network = parseCidr(input.network);
  const subnetCount = input.subnets ?? 1;
  if (!Number.isInteger(subnetCount) || subnetCount < 1 || subnetCount > MAX_SUBNETS) throw new Error(`--subnets must be 1-${MAX_SUBNETS}, not ${subnetCount}`);
  const hosts = 2 ** (32 - network.prefix) - 3; // network, gateway (.1), broadcast
  const perSubnet = Math.ceil(input.nodes / subnetCount);
  // HA servers take the top addresses of the first subnet (.254, .253, ...), so nodes keep theirs.
  const haServers = servers > 1 ? servers : 0;
  if (perSubnet + haServers > hosts && haServers > 0)
    throw new Error(`${input.network} has room for ${hosts} machines in its first subnet, not ${perSubnet} node(s) and ${haServers} servers`);
  if (perSubnet > hosts) throw new Error(`${input.network} has room for ${hosts} nodes${subnetCount > 1 ? ' per subnet' : ''}, not ${perSubnet}`);
  const dir = `${input.dataDir.replace(/\/+$/, '')}/lab/${input.name}`;
  const size = 2 ** (32 - network.prefix);
  const first = parseIPv4(network.base) ?? 0;
  if (first + subnetCount * size > 2 ** 32) throw new Error(`${input.network}: ${subnetCount} subnets of its size run past 255.255.255.255`);
  const subnets: LabSubnet[] = [];
  for (let k = 0; k < subnetCount; k++) {
    const base = first + k * size;
    subnets.push({ bridge: `br${k}`, base: formatIPv4(base), prefix: network.prefix, gateway: formatIPv4(base + 1), routerPort: `r${k}` });
  }
  const nodes: LabNode[] = [];
  for (let i = 1; i <= input.nodes; i++) {
    const name = `${input.name}-node-${i}`;
    const subnet = (i - 1) % subnetCount;
    nodes.push({
      name,
      netns: `tsk-${input.name}-n${i}`,
      ip: formatIPv4(first + subnet * size + 2 + Math.floor((i - 1) / subnetCount)),
      prefix: network.prefix,
      switchPort: `n${i}`,
      subnet,
      dataDir: `${dir}/${name}`,
      cgroupRoot: `tsk-${input.name}-n${i}`,
      apiSocket: `${dir}/${name}/api.sock`,
    });
  }
  // server-1 keeps the directory a one-server lab has always used.
  const serverList: LabServer[] = [];
  for (let i = 1; i <= servers; i++) {
    const server: LabServer = { name: `${input.name}-server-${i}`, dataDir: i === 1 ? `${dir}/server` : `${dir}/server-${i}` };
    if (servers === 1) serverList.push(server);
    else
      serverList.push({
        ...server,
        ha: {
          netns: `tsk-${input.name}-s${i}`,
          ip: formatIPv4(first + size - 1 - i),
          prefix: network.prefix,
          switchPort: `s${i}`,
          apiSocket: `${dir}/${server.name}.sock`,
        },
      });
  }
  return {
    name: input.name,
    dir,
    switchNetns: `tsk-${input.name}-sw`,
    bridge: 'br0',
    network,
    subnets,
    routerNetns: subnetCount > 1 ? `tsk-${input.name}-rt` : undefined,
    serviceCidr: (() => {
      const c = parseCidr(input.serviceCidr ?? DEFAULT_SERVICE_CIDR);
      return `${c.base}/${c.prefix}`;
    })(),
    apiSocket: `${dir}/api.sock`,
    serverDataDir: `${dir}/server`,
    servers: serverList,
    nodes,
  };
}
