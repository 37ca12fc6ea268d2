// The proxy's iptables chain names. They mirror kube-proxy's (KUBE-SERVICES,
// KUBE-SVC-<hash>, ...) with "TSK-" in place of "KUBE-". The proxy owns
// exactly the chains ownsChain() accepts: only those are ever flushed or
// deleted, so other TSK- chains (a kubelet's, say) are left alone.

import { hash } from 'node:crypto';

/** Chains the proxy always has, by table. */
export const CHAIN = {
  /** nat: every service's cluster IP; filter: REJECT for services without endpoints. */
  services: 'TSK-SERVICES',
  /** filter: REJECT for NodePorts and external IPs without endpoints. */
  externalServices: 'TSK-EXTERNAL-SERVICES',
  /** nat: NodePorts, reached from TSK-SERVICES for the node's addresses. */
  nodePorts: 'TSK-NODEPORTS',
  /** filter: accepts forwarded service traffic when FORWARD's policy is DROP. */
  forward: 'TSK-FORWARD',
  /** nat: masquerades marked packets. */
  postrouting: 'TSK-POSTROUTING',
  /** nat: marks a packet for masquerade. */
  markMasq: 'TSK-MARK-MASQ',
} as const;

const FIXED_CHAINS: ReadonlySet<string> = new Set(Object.values(CHAIN));

/** Prefixes of the per-service and per-endpoint chains. */
const SVC_PREFIX = 'TSK-SVC-';
const EXT_PREFIX = 'TSK-EXT-';
const SEP_PREFIX = 'TSK-SEP-';
const FW_PREFIX = 'TSK-FW-';
const HASHED_PREFIXES = [SVC_PREFIX, EXT_PREFIX, SEP_PREFIX, FW_PREFIX] as const;

/** iptables refuses chain names longer than this. */
export const MAX_CHAIN_NAME = 28;

/** True for a chain this proxy created and may flush or delete. */
export function ownsChain(name: string): boolean {
  return FIXED_CHAINS.has(name) || HASHED_PREFIXES.some((p) => name.startsWith(p) && name.length === p.length + 16);
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 (standard alphabet), without padding. */
export function base32(bytes: Uint8Array): string {
  let out = '';
  let value = 0;
  let bits = 0;
  for (const byte of bytes) {
    value = ((value << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/**
 * Chain names already hashed. A service port whose endpoints change has all
 * its chains named again, and the hollow nodes' proxies (thousands in one
 * process) name the same chains: a sha256 each was the largest cost of
 * rebuilding a changed service port. Bounded: emptied when full.
 */
const hashes = new Map<string, string>();
const MAX_REMEMBERED_HASHES = 200_000;

/**
 * The first 16 base32 characters of sha256(text), as kube-proxy names its
 * chains: stable across restarts and processes, so a new proxy recognises
 * (and replaces or deletes) the chains of the previous one.
 */
export function chainHash(text: string): string {
  let h = hashes.get(text);
  if (h === undefined) {
    // 16 base32 characters are the first 80 bits: encode only the first 10 bytes (a full sync hashes every chain name).
    h = base32(hash('sha256', text, 'buffer').subarray(0, 10));
    if (hashes.size >= MAX_REMEMBERED_HASHES) hashes.clear();
    hashes.set(text, h);
  }
  return h;
}

/** "namespace/name" or "namespace/name:port", kube-proxy's ServicePortName. */
export function servicePortName(namespace: string, name: string, portName: string): string {
  return `${namespace}/${name}${portName ? `:${portName}` : ''}`;
}

/** The chain choosing among a service port's endpoints. */
export function serviceChain(spn: string, protocol: string): string {
  return SVC_PREFIX + chainHash(spn + protocol.toLowerCase());
}

/** The chain for traffic to a service port from outside (NodePort, external IPs): masquerade, then the service chain. */
export function externalChain(spn: string, protocol: string): string {
  return EXT_PREFIX + chainHash(spn + protocol.toLowerCase());
}

/** The chain letting only loadBalancerSourceRanges through to a load balancer IP (kube-proxy's KUBE-FW-). */
export function firewallChain(spn: string, protocol: string): string {
  return FW_PREFIX + chainHash(spn + protocol.toLowerCase());
}

/** The chain DNATing to one endpoint ("ip:port") of a service port. */
export function endpointChain(spn: string, protocol: string, endpoint: string): string {
  return SEP_PREFIX + chainHash(spn + protocol.toLowerCase() + endpoint);
}
