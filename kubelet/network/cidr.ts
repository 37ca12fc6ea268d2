// The pod CIDR's layout, as Kubernetes' bridge and host-local plugins use
// it: the network address and the broadcast address are never given out,
// the first address is the bridge's (the pods' gateway), pods get the rest.
// Pure; addresses are util/ipv4's numbers.

import { broadcastAddress, formatCidr, hasHostBits, InvalidCidrError, parseIPv4Cidr, type Ipv4Cidr } from '../../util/ipv4';

export interface PodCidr {
  /** As given, e.g. "10.244.1.0/24". */
  text: string;
  network: number;
  prefix: number;
  /** The first address: the bridge's, the pods' default gateway. */
  gateway: number;
  /** First and last addresses a pod may get. */
  first: number;
  last: number;
}

/** Why the pod CIDR is refused, in the words this file has always used. */
function reason(text: string, err: InvalidCidrError): string {
  switch (err.problem) {
    case 'syntax':
      return 'expected an IPv4 CIDR such as 10.244.1.0/24';
    case 'ipv6':
      return 'IPv6 pod networks are not supported';
    case 'prefix':
      return `a /${text.slice(text.indexOf('/') + 1)} has no room for a gateway and a pod (at most /30)`;
    case 'address':
      return err.message;
  }
}

function parse(text: string, fail: (why: string) => never): Ipv4Cidr {
  try {
    return parseIPv4Cidr(text);
  } catch (err) {
    if (err instanceof InvalidCidrError) return fail(reason(text, err));
    throw err;
  }
}

/**
 * Parses the node's pod CIDR. Throws with a message naming the value when
 * it is not a canonical IPv4 CIDR with room for a gateway and a pod (/30 at
 * most); IPv6 is not supported yet.
 */
export function parsePodCidr(text: string): PodCidr {
  const fail = (why: string): never => {
    throw new Error(`podCidr ${JSON.stringify(text)}: ${why}`);
  };
  const cidr = parse(text, fail);
  const { prefix, network } = cidr;
  if (prefix > 30) return fail(`a /${prefix} has no room for a gateway and a pod (at most /30)`);
  if (prefix < 8) return fail(`a /${prefix} is larger than any node needs (at least /8)`);
  if (hasHostBits(cidr)) return fail(`host bits are set (the network is ${formatCidr(cidr)})`);
  return { text, network, prefix, gateway: network + 1, first: network + 2, last: broadcastAddress(cidr) - 1 };
}

/** Whether an address is one a pod of this CIDR may hold. */
export function isPodAddress(cidr: PodCidr, ip: number): boolean {
  return ip >= cidr.first && ip <= cidr.last;
}
