// The pod network as the kubelet sees it. The runtime takes its NetworkHook
// when it is built, but a network that hands out pod IPs (a bridge) can
// only be built once the node has its podCIDR, which may come later from
// the node IPAM controller. CidrPodNetwork is the hook the runtime gets at
// once: until the CIDR is known it refuses sandboxes ("network not ready")
// and the node reports Ready=False; then it delegates to the real network.

import type { NetworkHook, NetworkStatus, SandboxConfig } from './runtime/runtime';
import { loopbackOnly } from './runtime/runtime';

export interface PodNetwork {
  /** The hook to build the runtime with. */
  readonly hook: NetworkHook;
  /** Why pods cannot be networked yet; undefined when they can. */
  notReady(): string | undefined;
  /** The node's podCIDR became known (from the API or --pod-cidr). Idempotent for the same CIDR. */
  setPodCIDR(cidr: string): void;
  /**
   * Frees the addresses of sandboxes that no longer exist (a killed kubelet
   * left them); returns what it freed. `listLive` is called with sandbox
   * set-ups held back, so a sandbox being wired meanwhile is never taken for dead.
   */
  garbageCollect(listLive: () => Promise<Iterable<string>>): Promise<string[]>;
  /** Of these sandboxes, those whose network is gone (NetworkHook.lost); none while the network is not built yet. */
  lost(sandboxIds: readonly string[]): Promise<string[]>;
}

/** A network hook that can also free what dead sandboxes held (BridgeNetwork). */
export type CollectableHook = NetworkHook & { garbageCollect?(liveSandboxIds: Iterable<string>): Promise<string[]> };

/** Loopback only: always ready, pods have no IP. For tests and single-pod debugging. */
export function loopbackPodNetwork(): PodNetwork {
  return { hook: loopbackOnly, notReady: () => undefined, setPodCIDR: () => undefined, garbageCollect: async () => [], lost: async () => [] };
}

export class NetworkNotReadyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NetworkNotReadyError';
  }
}

/** A network built from the node's pod CIDR once it is known. */
export class CidrPodNetwork implements PodNetwork {
  private inner: CollectableHook | undefined;
  private cidr = '';
  /** Set-ups in flight, and a running collection (which set-ups wait for). */
  private settingUp = 0;
  private collecting: Promise<void> | undefined;
  private idle: Array<() => void> = [];
  readonly hook: NetworkHook;

  constructor(private readonly build: (podCIDR: string) => CollectableHook) {
    this.hook = {
      setUp: async (id: string, netns: string, config: SandboxConfig): Promise<NetworkStatus> => {
        while (this.collecting) await this.collecting;
        const inner = this.inner;
        if (!inner) throw new NetworkNotReadyError('network not ready: the node has no podCIDR yet');
        this.settingUp++;
        try {
          return await inner.setUp(id, netns, config);
        } finally {
          if (--this.settingUp === 0) for (const wake of this.idle.splice(0)) wake();
        }
      },
      // Tear-down of a sandbox made before a restart must work before the CIDR is read again: nothing to undo without a network.
      tearDown: (id: string, netns: string): Promise<void> => (this.inner ? this.inner.tearDown(id, netns) : Promise.resolve()),
    };
  }

  notReady(): string | undefined {
    return this.inner ? undefined : 'network not ready: the node has no podCIDR yet';
  }

  async garbageCollect(listLive: () => Promise<Iterable<string>>): Promise<string[]> {
    const inner = this.inner;
    if (!inner?.garbageCollect) return [];
    while (this.collecting) await this.collecting;
    let done = (): void => undefined;
    this.collecting = new Promise<void>((resolve) => (done = resolve));
    try {
      while (this.settingUp > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
      return await inner.garbageCollect(await listLive());
    } finally {
      this.collecting = undefined;
      done();
    }
  }

  async lost(sandboxIds: readonly string[]): Promise<string[]> {
    return (await this.inner?.lost?.(sandboxIds)) ?? [];
  }

  setPodCIDR(cidr: string): void {
    if (cidr === '' || cidr === this.cidr) return;
    if (this.cidr !== '') throw new NetworkNotReadyError(`the node's podCIDR changed from ${this.cidr} to ${cidr}: restart the kubelet`);
    this.inner = this.build(cidr);
    this.cidr = cidr;
  }
}
