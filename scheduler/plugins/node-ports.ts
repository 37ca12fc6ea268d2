// NodePorts: two pods cannot take the same host port on one node. Ports
// conflict when protocol and number match and the host IPs are equal or
// either is 0.0.0.0 (every address).

import type { FilterPlugin, HostPort, NodeInfo, PodInfo, Status } from '../framework/types';
import { SKIP, SUCCESS, unschedulable } from '../framework/types';

export const NODE_PORTS = 'NodePorts';
export const ERR_REASON_NODE_PORTS = "node(s) didn't have free ports for the requested pod ports";

const ANY_IP = '0.0.0.0';

export function portsConflict(a: HostPort, b: HostPort): boolean {
  if (a.port !== b.port || a.protocol !== b.protocol) return false;
  return a.ip === b.ip || a.ip === ANY_IP || b.ip === ANY_IP;
}

export const nodePorts: FilterPlugin = {
  name: NODE_PORTS,
  /** Nothing to check for a pod without host ports. */
  preFilter: (pod: PodInfo): Status => (pod.hostPorts.length > 0 ? SUCCESS : SKIP),
  filter(pod: PodInfo, node: NodeInfo): Status {
    for (const wanted of pod.hostPorts) {
      if (node.hostPorts.some((used) => portsConflict(wanted, used))) return unschedulable(ERR_REASON_NODE_PORTS);
    }
    return SUCCESS;
  },
};
