// The record index kept in step with the cluster: Services and Endpoints
// from shared informers (listed and watched once per node, no API call per
// query). A change only marks the index stale; the next query rebuilds it
// from the informers' caches, so an answer always reflects the cache at the
// time it is asked (no TTL cache of cluster names here), and a burst of
// changes costs one rebuild.

import type { Endpoints, Service } from '../api/gen/tsk/v1/core';
import type { Informer } from '../client';
import { RecordIndex, type ZoneConfig } from './records';

export class ClusterRecords {
  private index: RecordIndex | undefined;

  constructor(
    private readonly zone: ZoneConfig,
    private readonly services: Informer<Service>,
    private readonly endpoints: Informer<Endpoints>,
    /** The SOA serial source: seconds since the epoch, as CoreDNS's. */
    private readonly nowSeconds: () => number = () => Math.floor(Date.now() / 1000),
  ) {
    const stale = (): void => {
      this.index = undefined;
    };
    const handlers = { onAdd: stale, onUpdate: stale, onDelete: stale };
    services.addEventHandler(handlers);
    endpoints.addEventHandler(handlers);
  }

  /** The current index, rebuilt if anything changed since the last call. */
  current(): RecordIndex {
    this.index ??= new RecordIndex(this.zone, this.services.store.list(), (key) => this.endpoints.store.get(key), this.nowSeconds());
    return this.index;
  }
}
