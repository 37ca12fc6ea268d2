// The set of node pod CIDRs carved out of the cluster CIDR (Kubernetes'
// nodeipam cidrset): --cluster-cidr split into subnets of
// --node-cidr-mask-size bits, handed out round-robin from after the last one
// given (so a released subnet is not reused at once, while routes to it may
// linger), each at most once. IPv4. Pure: the controller rebuilds it from
// the nodes' spec.podCIDR at start.

import { cidrOf, formatCidr, nthSubnet, subnetCount, subnetIndex, tryParseIPv4Cidr, type Ipv4Cidr } from '../../util/ipv4';

/** At most 2^16 subnets, as Kubernetes limits the difference of the masks. */
const MAX_SUBNET_BITS = 16;

export class CidrError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CidrError';
  }
}

export class CidrSet {
  private readonly cluster: Ipv4Cidr;
  readonly clusterPrefix: number;
  readonly nodeMaskSize: number;
  /** How many node subnets the cluster CIDR holds. */
  readonly size: number;
  private readonly used = new Set<number>();
  private next = 0;

  /** Throws CidrError naming the flag when the CIDR or the mask size is unusable. */
  constructor(clusterCidr: string, nodeMaskSize: number) {
    const parsed = tryParseIPv4Cidr(clusterCidr);
    if (!parsed) throw new CidrError(`--cluster-cidr: "${clusterCidr}" is not an IPv4 CIDR (such as 10.244.0.0/16)`);
    if (!Number.isInteger(nodeMaskSize) || nodeMaskSize < parsed.prefix || nodeMaskSize > 32) {
      throw new CidrError(`--node-cidr-mask-size: ${nodeMaskSize} must be between the cluster CIDR's prefix length (${parsed.prefix}) and 32`);
    }
    if (nodeMaskSize - parsed.prefix > MAX_SUBNET_BITS) {
      throw new CidrError(`--node-cidr-mask-size: ${nodeMaskSize} splits --cluster-cidr ${clusterCidr} into more than 2^${MAX_SUBNET_BITS} subnets`);
    }
    this.cluster = parsed;
    this.clusterPrefix = parsed.prefix;
    this.nodeMaskSize = nodeMaskSize;
    this.size = subnetCount(parsed, nodeMaskSize);
  }

  get allocated(): number {
    return this.used.size;
  }

  /** The next free subnet as text, or undefined when every one is taken. */
  allocateNext(): string | undefined {
    for (let k = 0; k < this.size; k++) {
      const i = (this.next + k) % this.size;
      if (this.used.has(i)) continue;
      this.used.add(i);
      this.next = (i + 1) % this.size;
      return this.format(i);
    }
    return undefined;
  }

  /**
   * Marks a subnet taken (a node's existing podCIDR). False when it is not
   * one of this set's subnets (another range or another mask size).
   */
  occupy(cidr: string): boolean {
    const i = this.indexOf(cidr);
    if (i === undefined) return false;
    this.used.add(i);
    return true;
  }

  /** Frees a subnet; unknown ones are ignored. */
  release(cidr: string): void {
    const i = this.indexOf(cidr);
    if (i !== undefined) this.used.delete(i);
  }

  has(cidr: string): boolean {
    const i = this.indexOf(cidr);
    return i !== undefined && this.used.has(i);
  }

  private indexOf(cidr: string): number | undefined {
    const parsed = tryParseIPv4Cidr(cidr);
    // A node's podCIDR with host bits set names the subnet it lies in, as before.
    return parsed && parsed.prefix === this.nodeMaskSize ? subnetIndex(this.cluster, cidrOf(parsed.network, parsed.prefix)) : undefined;
  }

  private format(i: number): string {
    return formatCidr(nthSubnet(this.cluster, this.nodeMaskSize, i));
  }
}
