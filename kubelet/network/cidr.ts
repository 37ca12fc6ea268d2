// IPv4 addresses and the pod CIDR's layout, as Kubernetes' bridge and
// host-local plugins use it: the network address and the broadcast address
// are never given out, the first address is the bridge's (the pods'
// gateway), pods get the rest. Pure.

/** Parses a dotted quad to a 32-bit unsigned number, or undefined if it is not one. */
export function parseIPv4(s: string): number | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    // No leading zeros: "010" is octal to some parsers and decimal to others.
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    n = n * 256 + v;
  }
  return n;
}

export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

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

/**
 * Parses the node's pod CIDR. Throws with a message naming the value when
 * it is not a canonical IPv4 CIDR with room for a gateway and a pod (/30 at
 * most); IPv6 is not supported yet.
 */
export function parsePodCidr(text: string): PodCidr {
  const fail = (why: string): never => {
    throw new Error(`podCidr ${JSON.stringify(text)}: ${why}`);
  };
  const m = /^([^/]+)\/([0-9]{1,2})$/.exec(text);
  if (!m) return fail('expected an IPv4 CIDR such as 10.244.1.0/24');
  const addr = m[1] ?? '';
  if (addr.includes(':')) return fail('IPv6 pod networks are not supported');
  const ip = parseIPv4(addr);
  if (ip === undefined) return fail(`"${addr}" is not an IPv4 address`);
  const prefix = Number(m[2]);
  if (prefix > 30) return fail(`a /${prefix} has no room for a gateway and a pod (at most /30)`);
  if (prefix < 8) return fail(`a /${prefix} is larger than any node needs (at least /8)`);
  const size = 2 ** (32 - prefix);
  const network = ip - (ip % size);
  if (network !== ip) return fail(`host bits are set (the network is ${formatIPv4(network)}/${prefix})`);
  return { text, network, prefix, gateway: network + 1, first: network + 2, last: network + size - 2 };
}

/** Whether an address is one a pod of this CIDR may hold. */
export function isPodAddress(cidr: PodCidr, ip: number): boolean {
  return ip >= cidr.first && ip <= cidr.last;
}
