// The pod network of a hollow node: addresses handed out from the node's
// podCIDR in memory (so pods get distinct IPs and Endpoints fill as in a real
// cluster), with nothing wired.

import type { NetworkHook, NetworkStatus } from '../runtime/runtime';
import type { PodNetwork } from '../pod-network';
import { formatCidr, formatIPv4, parseIPv4Cidr, type Ipv4Cidr } from '../../util/ipv4';

export class HollowNetwork implements PodNetwork, NetworkHook {
  readonly hook: NetworkHook = this;
  private cidr: Ipv4Cidr | undefined;
  /** Sandbox ID -> address (as a number). */
  private readonly held = new Map<string, number>();
  private readonly used = new Set<number>();
  private next = 0;

  notReady(): string | undefined {
    return this.cidr ? undefined : 'network not ready: the node has no podCIDR yet';
  }

  setPodCIDR(cidr: string): void {
    if (cidr !== '') this.cidr = parseIPv4Cidr(cidr);
  }

  /** The next free address of the podCIDR after the gateway (.1), round robin as host-local IPAM. */
  async setUp(sandboxId: string): Promise<NetworkStatus> {
    const cidr = this.cidr;
    if (!cidr) throw new Error(this.notReady());
    // .0 is the network, .1 the gateway, the last the broadcast address.
    const first = cidr.network + 2;
    const size = cidr.size - 3;
    for (let i = 0; i < size; i++) {
      const ip = first + ((this.next + i) % size);
      if (this.used.has(ip)) continue;
      this.next = (this.next + i + 1) % size;
      this.used.add(ip);
      this.held.set(sandboxId, ip);
      return { ips: [formatIPv4(ip)] };
    }
    throw new Error(`no free address in the podCIDR ${formatCidr(cidr)}`);
  }

  async tearDown(sandboxId: string): Promise<void> {
    const ip = this.held.get(sandboxId);
    if (ip === undefined) return;
    this.held.delete(sandboxId);
    this.used.delete(ip);
  }

  async garbageCollect(listLive: () => Promise<Iterable<string>>): Promise<string[]> {
    const live = new Set(await listLive());
    const dead = [...this.held.keys()].filter((id) => !live.has(id));
    for (const id of dead) await this.tearDown(id);
    return dead;
  }

  async lost(): Promise<string[]> {
    return [];
  }
}
