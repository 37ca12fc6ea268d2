// The ConfigMaps and Secrets pods read, fetched one by one with `get` (a node
// is authorized to get those its pods reference, never to list them all),
// each kept for a short TTL so the syncs of one pod, or of pods sharing an
// object, do not each ask again (Kubernetes' kubelet "Cache" strategy).
// Updates are seen within the TTL plus the pod resync period.

import { NotFoundError } from '../api/errors';
import type { ConfigMap, Secret } from '../api/gen/tsk/v1/core';
import type { Clock } from '../client';

/** What the cache needs of a kind's client (ResourceClient has it). */
export interface ObjectClient<T> {
  get(name: string, namespace?: string): Promise<T>;
}

/** Default TTL of a fetched object. */
export const OBJECT_TTL_MS = 5_000;

/** Gets a ConfigMap or Secret of a namespace; undefined when the API has none of that name. Other errors throw. */
export interface ObjectGetter {
  configMap(namespace: string, name: string): Promise<ConfigMap | undefined>;
  secret(namespace: string, name: string): Promise<Secret | undefined>;
}

interface Entry<T> {
  at: number;
  value: Promise<T | undefined>;
}

class TtlCache<T> {
  private readonly entries = new Map<string, Entry<T>>();

  constructor(
    private readonly client: ObjectClient<T>,
    private readonly clock: Clock,
    private readonly ttlMs: number,
  ) {}

  get(namespace: string, name: string): Promise<T | undefined> {
    const key = `${namespace}/${name}`;
    const now = this.clock.now();
    const hit = this.entries.get(key);
    if (hit && now - hit.at < this.ttlMs) return hit.value;
    const value = this.client.get(name, namespace).then(
      (obj) => obj,
      (err: unknown) => {
        if (err instanceof NotFoundError) return undefined;
        // A failure is not kept: the next sync asks again.
        this.entries.delete(key);
        throw err;
      },
    );
    this.entries.set(key, { at: now, value });
    // Forget old entries so pods long gone do not keep their objects in memory.
    for (const [k, e] of this.entries) if (now - e.at >= this.ttlMs) this.entries.delete(k);
    return value;
  }
}

/** An ObjectGetter over the API with a TTL cache. */
export function cachedObjectGetter(
  clients: { configMaps: ObjectClient<ConfigMap>; secrets: ObjectClient<Secret> },
  clock: Clock,
  ttlMs = OBJECT_TTL_MS,
): ObjectGetter {
  const configMaps = new TtlCache(clients.configMaps, clock, ttlMs);
  const secrets = new TtlCache(clients.secrets, clock, ttlMs);
  return {
    configMap: (ns, name) => configMaps.get(ns, name),
    secret: (ns, name) => secrets.get(ns, name),
  };
}

/** Fetches the named objects of one namespace (in parallel) into maps by name. */
export async function fetchObjects(
  getter: ObjectGetter,
  namespace: string,
  names: { configMaps: Iterable<string>; secrets: Iterable<string> },
): Promise<{ configMaps: Map<string, ConfigMap | undefined>; secrets: Map<string, Secret | undefined> }> {
  const cmNames = [...new Set(names.configMaps)];
  const sNames = [...new Set(names.secrets)];
  const [cms, ss] = await Promise.all([
    Promise.all(cmNames.map((n) => getter.configMap(namespace, n))),
    Promise.all(sNames.map((n) => getter.secret(namespace, n))),
  ]);
  return { configMaps: new Map(cmNames.map((n, i) => [n, cms[i]])), secrets: new Map(sNames.map((n, i) => [n, ss[i]])) };
}
