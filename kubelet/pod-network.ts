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
}

/** Loopback only: always ready, pods have no IP. For tests and single-pod debugging. */
export function loopbackPodNetwork(): PodNetwork {
  return { hook: loopbackOnly, notReady: () => undefined, setPodCIDR: () => undefined };
}

export class NetworkNotReadyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NetworkNotReadyError';
  }
}

/** A network built from the node's pod CIDR once it is known. */
export class CidrPodNetwork implements PodNetwork {
  private inner: NetworkHook | undefined;
  private cidr = '';
  readonly hook: NetworkHook;

  constructor(private readonly build: (podCIDR: string) => NetworkHook) {
    this.hook = {
      setUp: (id: string, netns: string, config: SandboxConfig): Promise<NetworkStatus> => {
        if (!this.inner) return Promise.reject(new NetworkNotReadyError('network not ready: the node has no podCIDR yet'));
        return this.inner.setUp(id, netns, config);
      },
      // Tear-down of a sandbox made before a restart must work before the CIDR is read again: nothing to undo without a network.
      tearDown: (id: string, netns: string): Promise<void> => (this.inner ? this.inner.tearDown(id, netns) : Promise.resolve()),
    };
  }

  notReady(): string | undefined {
    return this.inner ? undefined : 'network not ready: the node has no podCIDR yet';
  }

  setPodCIDR(cidr: string): void {
    if (cidr === '' || cidr === this.cidr) return;
    if (this.cidr !== '') throw new NetworkNotReadyError(`the node's podCIDR changed from ${this.cidr} to ${cidr}: restart the kubelet`);
    this.inner = this.build(cidr);
    this.cidr = cidr;
  }
}
