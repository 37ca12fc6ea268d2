// The kubelet's heartbeat Lease (Kubernetes' pkg/kubelet/nodelease and
// component-helpers' lease controller): kube-node-lease/<node name>, held by
// the node, renewed every quarter of --node-lease-duration-seconds. A renewal
// writes a few hundred bytes where a Node status post writes kilobytes, so
// the node lifecycle controller reads liveness from the Lease and the Node's
// status is posted only when it changes or every --node-status-report-frequency.

import { NAMESPACE_NODE_LEASE } from '../api/namespaces';
import { ConflictError, NotFoundError } from '../api/errors';
import type { Lease, Node } from '../api/gen/tsk/v1/core';
import type { OwnerReference } from '../api/gen/tsk/v1/meta';
import type { Clock, ResourceClient, TimerHandle } from '../client';
import { jitteredMs } from '../util/backoff';
import { errorMessage } from '../util/errors';
import { rfc3339Micro } from '../util/time';

/** The kubelet's default --node-lease-duration-seconds. */
export const DEFAULT_NODE_LEASE_DURATION_SECONDS = 40;
/** Kubernetes renews at a quarter of the duration (nodelease.renewIntervalFraction). */
const RENEW_INTERVAL_FRACTION = 0.25;
/** The lease controller's wait.JitterUntil factor: renewals up to 4% apart keep thousands of nodes from renewing in step. */
export const RENEW_JITTER = 0.04;
/** Retries after a failed renewal back off from 200 ms to 7 s (the lease controller's maxBackoff). */
const FIRST_RETRY_MS = 200;
const MAX_RETRY_MS = 7_000;

export interface NodeLeaseOptions {
  leases: Pick<ResourceClient<Lease>, 'get' | 'create' | 'update'>;
  nodeName: string;
  durationSeconds: number;
  clock: Clock;
  /** The Node as last read, for the Lease's ownerReference (so the garbage collector removes the Lease with its Node). */
  node: () => Node | undefined;
  /** A renewal was written. */
  onRenewed?: () => void;
  /** A number in [0, 1) for the renewal's jitter; default Math.random. */
  random?: () => number;
  log: (line: string) => void;
}

/** The renewal interval of a Lease of `durationSeconds`. */
export function renewIntervalMs(durationSeconds: number): number {
  return durationSeconds * 1000 * RENEW_INTERVAL_FRACTION;
}

/** The owner reference of a node's Lease, or undefined before the Node's UID is known. */
export function nodeOwner(node: Node | undefined): OwnerReference | undefined {
  const uid = node?.metadata?.uid;
  const name = node?.metadata?.name;
  if (!uid || !name) return undefined;
  return { apiVersion: 'v1', kind: 'Node', name, uid };
}

/**
 * The Lease renewed at `now` (a new one when `current` is undefined): holder
 * and duration set, the owner reference replaced when the Node was
 * re-created under a new UID.
 */
export function renewedLease(
  current: Lease | undefined,
  o: { nodeName: string; durationSeconds: number; owner: OwnerReference | undefined },
  now: string,
): Lease {
  const others = (current?.metadata?.ownerReferences ?? []).filter((r) => !(r.kind === 'Node' && r.apiVersion === 'v1'));
  const ownerReferences = o.owner ? [...others, o.owner] : (current?.metadata?.ownerReferences ?? []);
  return {
    ...current,
    metadata: { ...current?.metadata, name: o.nodeName, namespace: NAMESPACE_NODE_LEASE, ownerReferences },
    spec: {
      ...current?.spec,
      holderIdentity: o.nodeName,
      leaseDurationSeconds: o.durationSeconds,
      renewTime: now,
      acquireTime: current?.spec?.acquireTime ?? '',
    },
  };
}

/** Renews the node's Lease on a timer; failures are logged and retried with back-off. */
export class NodeLeaseController {
  private latest: Lease | undefined;
  private timer: TimerHandle | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private retryMs = FIRST_RETRY_MS;

  constructor(private readonly o: NodeLeaseOptions) {}

  start(): void {
    const tick = (): void => {
      if (this.stopped) return;
      this.running = this.renew()
        .then(
          () => jitteredMs(renewIntervalMs(this.o.durationSeconds), RENEW_JITTER, this.o.random),
          (err: unknown) => {
            this.o.log(`failed to update the node lease: ${errorMessage(err)}; retrying in ${this.retryMs} ms`);
            const wait = this.retryMs;
            this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
            return wait;
          },
        )
        .then((wait) => {
          this.running = undefined;
          if (!this.stopped) this.timer = this.o.clock.setTimeout(tick, wait);
        });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) this.o.clock.clearTimeout(this.timer);
    await this.running;
  }

  /** One renewal: update the Lease last written (read or created when unknown); a conflict re-reads it. */
  async renew(): Promise<void> {
    const now = rfc3339Micro(this.o.clock.now());
    const want = (cur: Lease | undefined): Lease =>
      renewedLease(cur, { nodeName: this.o.nodeName, durationSeconds: this.o.durationSeconds, owner: nodeOwner(this.o.node()) }, now);
    try {
      this.latest = this.latest ? await this.o.leases.update(want(this.latest)) : await this.createOrUpdate(want);
    } catch (err) {
      // Whatever failed, the next attempt starts from the stored Lease.
      this.latest = undefined;
      if (!(err instanceof ConflictError)) throw err;
      this.latest = await this.createOrUpdate(want);
    }
    this.retryMs = FIRST_RETRY_MS;
    this.o.onRenewed?.();
  }

  private async createOrUpdate(want: (cur: Lease | undefined) => Lease): Promise<Lease> {
    let cur: Lease;
    try {
      cur = await this.o.leases.get(this.o.nodeName, NAMESPACE_NODE_LEASE);
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
      const created = want(undefined);
      return this.o.leases.create({ ...created, spec: { ...created.spec, acquireTime: created.spec?.renewTime ?? '' } });
    }
    return this.o.leases.update(want(cur));
  }
}
