// The API side of bench:proxy: Services and Endpoints held in memory and
// served to the real SharedInformerFactory through the two calls its
// informers make (listAll, watch), so the proxier under test is fed exactly
// as in the agent, without an API server's cost in the timings.

import type { Endpoints, Service } from '../api/gen/tsk/v1/core';
import { KINDS, type ApiObject } from '../api/kinds';
import type { Clientset, Watch, WatchEvent } from '../client';

/** A watch fed by push(): events wait in a buffer until the informer reads them. */
class PushWatch<T> implements Watch<T> {
  private readonly buffer: WatchEvent<T>[] = [];
  private waiter: ((r: IteratorResult<WatchEvent<T>>) => void) | undefined;
  private done = false;

  constructor(private readonly onCancel: () => void) {}

  push(event: WatchEvent<T>): void {
    if (this.done) return;
    const w = this.waiter;
    this.waiter = undefined;
    if (w) w({ done: false, value: event });
    else this.buffer.push(event);
  }

  cancel(): void {
    if (this.done) return;
    this.done = true;
    this.buffer.length = 0;
    this.onCancel();
    const w = this.waiter;
    this.waiter = undefined;
    w?.({ done: true, value: undefined });
  }

  [Symbol.asyncIterator](): AsyncIterator<WatchEvent<T>> {
    return {
      next: () => {
        const event = this.buffer.shift();
        if (event) return Promise.resolve({ done: false, value: event });
        if (this.done) return Promise.resolve({ done: true, value: undefined });
        return new Promise((resolve) => (this.waiter = resolve));
      },
      return: () => {
        this.cancel();
        return Promise.resolve({ done: true, value: undefined });
      },
    };
  }
}

/** One kind's objects with a revision counter; list and watch as the API server answers them. */
export class MemoryKind<T extends ApiObject> {
  /** The informer names itself after the kind's plural. */
  constructor(readonly info: { readonly plural: string }) {}

  private revision = 1;
  private readonly objects = new Map<string, T>();
  private readonly watches = new Set<PushWatch<T>>();

  listAll(): Promise<{ metadata: { resourceVersion: string }; items: T[] }> {
    return Promise.resolve({ metadata: { resourceVersion: String(this.revision) }, items: [...this.objects.values()] });
  }

  /** Only watches from the current revision are asked for here (the informer watches right after its list). */
  watch(): Watch<T> {
    const w: PushWatch<T> = new PushWatch<T>(() => this.watches.delete(w));
    this.watches.add(w);
    return w;
  }

  upsert(obj: T): void {
    const key = `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
    const type = this.objects.has(key) ? 'MODIFIED' : 'ADDED';
    this.revision++;
    const stored = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(this.revision) } };
    this.objects.set(key, stored);
    for (const w of this.watches) w.push({ type, object: stored });
  }
}

/** The Services and Endpoints of a bench run, and the Clientset face the informer factory reads them through. */
export class BenchSource {
  readonly services = new MemoryKind<Service>(KINDS.Service);
  readonly endpoints = new MemoryKind<Endpoints>(KINDS.Endpoints);

  /**
   * The factory only calls kind('Service'|'Endpoints').listAll/watch; the
   * rest of Clientset is never reached (the proxier is given its node IPs).
   */
  clientset(): Clientset {
    const kinds: Record<string, unknown> = { Service: this.services, Endpoints: this.endpoints };
    const kind = (name: string): unknown => {
      const k = kinds[name];
      if (!k) throw new Error(`bench:proxy: the proxier asked for kind ${name}, which the bench does not serve`);
      return k;
    };
    return { kind } as unknown as Clientset;
  }
}

/** The cluster IP of service i: 10.96.0.0/16 from 10.96.0.1 up. */
export function clusterIP(i: number): string {
  const n = i + 1;
  return `10.96.${(n >> 8) & 255}.${n & 255}`;
}

/** Pod IP number k (0-based), from 10.128.0.1 up: up to 2^22 distinct addresses. */
export function podIP(k: number): string {
  const n = k + 1;
  return `10.${128 + ((n >> 16) & 63)}.${(n >> 8) & 255}.${n & 255}`;
}

export function benchService(i: number): Service {
  return {
    metadata: { namespace: 'bench', name: `svc-${i}` },
    spec: { type: 'ClusterIP', clusterIP: clusterIP(i), ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
  };
}

/**
 * The nodes the bench's pods run on, as a real cluster's Endpoints say
 * (each address's nodeName, set by the endpoints controller). 10,000
 * Services of 5 endpoints are 50,000 pods; spread over 100 nodes that is
 * 500 per node, more than the kubelet's default maxPods (110), so the
 * measured node holds a share at least as large as a real one would.
 */
export const BENCH_NODES = 100;

/** The node the measured proxy runs as: it holds pods 0, 100, 200, ... */
export const BENCH_NODE_NAME = 'bench';

/** The node of pod number k. */
export function benchNodeOf(k: number): string {
  const n = k % BENCH_NODES;
  return n === 0 ? BENCH_NODE_NAME : `node-${n}`;
}

/** How many of pods 0 .. pods-1 run on the measured node. */
export function localPods(pods: number): number {
  return Math.ceil(pods / BENCH_NODES);
}

/** Endpoints of service i: `count` pods numbered from `firstPod`, and `extra` more from `extraPod`, each on its node (benchNodeOf). */
export function benchEndpoints(i: number, firstPod: number, count: number, extraPod = 0, extra = 0): Endpoints {
  const pods = [...Array.from({ length: count }, (_, j) => firstPod + j), ...Array.from({ length: extra }, (_, j) => extraPod + j)];
  const addresses = pods.map((k) => ({ ip: podIP(k), nodeName: benchNodeOf(k) }));
  return {
    metadata: { namespace: 'bench', name: `svc-${i}` },
    subsets: [{ addresses, ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] }],
  };
}
