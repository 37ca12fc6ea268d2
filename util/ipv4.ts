// IPv4 addresses and CIDRs, the one home for them (service ClusterIP and
// node pod-CIDR allocators, the kubelet's pod network, the lab's plan).
// Parsing and formatting are ipaddr.js's; the allocators count addresses, so
// an address is also an unsigned 32-bit number and CIDR arithmetic is done on
// those. Only the strict dotted quad is accepted: ipaddr.js on its own also
// takes "10.1", "0x0a.0.0.1" and "010.0.0.1" (octal to some parsers, decimal
// to others), which Kubernetes' validation refuses as well.

import ipaddr from 'ipaddr.js';

const ADDRESS_BITS = 32;

/** An IPv4 address as an unsigned 32-bit number, or undefined when `text` is not a dotted quad. */
export function parseIPv4(text: string): number | undefined {
  if (!ipaddr.IPv4.isValidFourPartDecimal(text)) return undefined;
  return ipaddr.IPv4.parse(text).octets.reduce((n, octet) => n * 256 + octet, 0);
}

/** The dotted quad of an unsigned 32-bit number. */
export function formatIPv4(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n >= 2 ** ADDRESS_BITS) throw new RangeError(`${n} is not an IPv4 address (an integer from 0 to 2^32-1)`);
  return new ipaddr.IPv4([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]).toString();
}

/** A parsed IPv4 CIDR; all addresses are unsigned 32-bit numbers. */
export interface Ipv4Cidr {
  /** The address as written (host bits may be set: "10.244.1.7/24"). */
  readonly address: number;
  readonly prefix: number;
  /** The address with the host bits cleared. */
  readonly network: number;
  /** How many addresses the CIDR holds (2^(32-prefix)). */
  readonly size: number;
}

/** What is wrong with a CIDR: the callers that say it in their own words tell these apart. */
export type CidrProblem = 'syntax' | 'ipv6' | 'address' | 'prefix';

export class InvalidCidrError extends Error {
  constructor(
    readonly value: string,
    readonly problem: CidrProblem,
    message: string,
  ) {
    super(message);
    this.name = 'InvalidCidrError';
  }
}

/**
 * Parses "A.B.C.D/N". Throws InvalidCidrError with a message naming the
 * value (and `example`, a CIDR of the kind the caller wants, when the text is
 * not a CIDR at all).
 */
export function parseIPv4Cidr(text: string, example = '10.244.0.0/16'): Ipv4Cidr {
  const m = /^([^/]+)\/([0-9]{1,2})$/.exec(text);
  if (!m) throw new InvalidCidrError(text, 'syntax', `"${text}" is not an IPv4 CIDR such as ${example}`);
  const addressText = m[1] ?? '';
  if (addressText.includes(':')) throw new InvalidCidrError(text, 'ipv6', `"${text}" is an IPv6 CIDR; only IPv4 is supported`);
  const address = parseIPv4(addressText);
  if (address === undefined) throw new InvalidCidrError(text, 'address', `"${addressText}" is not an IPv4 address`);
  const prefix = Number(m[2]);
  if (prefix > ADDRESS_BITS) throw new InvalidCidrError(text, 'prefix', `"${text}": the prefix length ${prefix} is more than ${ADDRESS_BITS}`);
  return cidrOf(address, prefix);
}

/** parseIPv4Cidr for callers with their own message: undefined when `text` is not an IPv4 CIDR. */
export function tryParseIPv4Cidr(text: string): Ipv4Cidr | undefined {
  try {
    return parseIPv4Cidr(text);
  } catch (err) {
    if (err instanceof InvalidCidrError) return undefined;
    throw err;
  }
}

/** The CIDR of `prefix` bits around `address`. */
export function cidrOf(address: number, prefix: number): Ipv4Cidr {
  const size = 2 ** (ADDRESS_BITS - prefix);
  return { address, prefix, network: address - (address % size), size };
}

/** "network/prefix": the canonical text (host bits cleared). */
export function formatCidr(cidr: Ipv4Cidr): string {
  return `${formatIPv4(cidr.network)}/${cidr.prefix}`;
}

/** Whether the address as written has host bits set (it is not the network address). */
export function hasHostBits(cidr: Ipv4Cidr): boolean {
  return cidr.address !== cidr.network;
}

/** The last address of the CIDR. */
export function broadcastAddress(cidr: Ipv4Cidr): number {
  return cidr.network + cidr.size - 1;
}

export function cidrContains(cidr: Ipv4Cidr, ip: number): boolean {
  return ip >= cidr.network && ip <= broadcastAddress(cidr);
}

/** The n-th address of the CIDR, counting the network address as 0. Throws RangeError outside it. */
export function nthAddress(cidr: Ipv4Cidr, n: number): number {
  if (!Number.isInteger(n) || n < 0 || n >= cidr.size) throw new RangeError(`${formatCidr(cidr)} has no address number ${n} (it holds ${cidr.size})`);
  return cidr.network + n;
}

/** How many subnets of `prefix` bits the CIDR splits into (0 when `prefix` is shorter than the CIDR's). */
export function subnetCount(cidr: Ipv4Cidr, prefix: number): number {
  return prefix < cidr.prefix || prefix > ADDRESS_BITS ? 0 : 2 ** (prefix - cidr.prefix);
}

/** The i-th subnet of `prefix` bits. Throws RangeError when there is none. */
export function nthSubnet(cidr: Ipv4Cidr, prefix: number, i: number): Ipv4Cidr {
  if (!Number.isInteger(i) || i < 0 || i >= subnetCount(cidr, prefix)) throw new RangeError(`${formatCidr(cidr)} has no /${prefix} subnet number ${i}`);
  return cidrOf(cidr.network + i * 2 ** (ADDRESS_BITS - prefix), prefix);
}

/** Which subnet of the CIDR `subnet` is (the inverse of nthSubnet); undefined when it is not exactly one of them. */
export function subnetIndex(cidr: Ipv4Cidr, subnet: Ipv4Cidr): number | undefined {
  if (subnet.prefix < cidr.prefix || hasHostBits(subnet) || !cidrContains(cidr, subnet.network)) return undefined;
  return (subnet.network - cidr.network) / subnet.size;
}
