// The service proxy (kube-proxy in iptables or nftables mode): watches Services and
// Endpoints through shared informers and keeps the iptables of the network
// namespace it runs in programmed so that every service port's cluster IP
// (and NodePort, external IPs) load-balances over the ready endpoints.
//
// Level-triggered: a change only asks the SyncRunner for a sync; a sync
// reads the whole cache, builds the complete ruleset (rules.ts, reusing the
// pieces of unchanged service ports) and applies it with one
// iptables-restore --noflush. As kube-proxy's (KEP-3453), a sync is partial
// (only the chains that differ from the last successful write, iptables
// left unread) except the first, the one after a failure and one per full
// sync period (fullSyncPeriodMs, by default the sync period): those read iptables (iptables-save), write every chain, remove
// stale chains (of a previous run too) and repair what someone else changed. Stopping leaves
// the rules in place, as kube-proxy does, so traffic flows while the proxy
// restarts; `tsk proxy --cleanup` removes them.

import { isIPv4 } from 'node:net';
import type { Registry } from 'prom-client';
import type { Endpoints, Node, Service } from '../api/gen/tsk/v1/core';
import { type Clientset, type Clock, type Informer, realClock, type SharedInformerFactory } from '../client';
import { ConntrackMissingError, ExecConntrack, staleUdpFlowFilters, type Conntrack } from './conntrack';
import type { ProxyBackend, ProxyMode } from './backend';
import { cleanupIptables, cleanupNftables } from './cleanup';
import { ExecIptables, type Iptables } from './iptables';
import { IptablesBackend } from './iptables-backend';
import { newProxyMetrics, type ProxyMetrics } from './metrics';
import { NftablesBackend } from './nft-backend';
import { defaultNftables } from './nft-helper';
import { ExecNftables, type Nftables } from './nftables';
import { mergeChanges, ServicePortCache, type PortChanges, type ServicePortState } from './service-ports';
import { SyncRunner } from './sync-runner';
import { asError, errorMessage } from '../util/errors';

/** More services changed than this in one sync: the service ports are rebuilt from every service (one sorted pass, not a sorted insert each). */
const REBUILD_ALL_ABOVE = 1000;

/** The annotation the endpoints controller sets to when the change of a service's pods happened. */
export const TRIGGER_TIME_ANNOTATION = 'endpoints.kubernetes.io/last-change-trigger-time';

export interface ProxyOptions {
  readonly clientset: Clientset;
  readonly informers: SharedInformerFactory;
  readonly nodeName: string;
  /**
   * IPv4 addresses where NodePorts answer. Unset: the Node object's
   * InternalIP and ExternalIP addresses; none found: every local address.
   */
  readonly nodeIPs?: readonly string[];
  /** kube-proxy's --proxy-mode: iptables (default) or nftables. */
  readonly mode?: ProxyMode;
  /** Default: the real iptables-save/iptables-restore of this network namespace. */
  readonly iptables?: Iptables;
  /** Default: the real nft of this network namespace. */
  readonly nftables?: Nftables;
  /**
   * Whether the first sync removes the other mode's rules (kube-proxy does,
   * so switching modes leaves nothing behind). Default: true when neither
   * iptables nor nftables is injected (a fake has no other mode to clean).
   */
  readonly cleanupOtherMode?: boolean;
  /** Clears stale UDP flows; default: the conntrack tool. */
  readonly conntrack?: Conntrack;
  /** The pods' range; traffic to a cluster IP from outside it is masqueraded. */
  readonly clusterCIDR?: string;
  /** Shortest time between syncs (kube-proxy's --iptables-min-sync-period); default 1 s. */
  readonly minSyncPeriodMs?: number;
  /** Periodic full resync (kube-proxy's --iptables-sync-period); default 30 s. */
  readonly syncPeriodMs?: number;
  /**
   * How often the periodic sync is a full one (reads iptables, rewrites every
   * chain); the others are partial. Default: every sync period. kube-proxy's
   * FullSyncPeriod is an hour; a hollow node's proxy, whose iptables hold
   * nothing anyone could change, takes that.
   */
  readonly fullSyncPeriodMs?: number;
  readonly masqueradeBit?: number;
  readonly clock?: Clock;
  /** Where the metrics go; default a new Registry. */
  readonly registry?: Registry;
  readonly log?: (line: string) => void;
  /**
   * Runs each sync (default: at once). Proxies sharing a process (the hollow
   * nodes') pass one that makes their syncs take turns with the event loop.
   */
  readonly runSync?: (sync: () => Promise<void>) => Promise<void>;
  /** Whether stop() also stops the informer factory; default true. */
  readonly stopInformers?: boolean;
}

export interface ProxyHealth {
  readonly healthy: boolean;
  /** Milliseconds since the epoch of the last successful sync; undefined before the first. */
  readonly lastUpdated: number | undefined;
  readonly currentTime: number;
  /** Why it is not healthy. */
  readonly reason?: string;
}

export interface RunningProxy {
  readonly registry: Registry;
  /** The node addresses NodePorts answer on (empty: every local address). */
  readonly nodeIPs: readonly string[];
  /** Resolves after the first successful sync; rejects if the proxy stops before. */
  readonly firstSync: Promise<void>;
  /** kube-proxy's /healthz: unhealthy before the first sync and when none succeeded for 2 sync periods. */
  health(): ProxyHealth;
  /** Stops watching and syncing; leaves the rules in place. Idempotent. */
  stop(): Promise<void>;
}

/** The node's IPv4 InternalIP and ExternalIP addresses, InternalIP first. */
export function nodeAddresses(node: Node | undefined): string[] {
  const addrs = node?.status?.addresses ?? [];
  const of = (type: string): string[] => addrs.filter((a) => a.type === type && a.address && isIPv4(a.address)).map((a) => a.address ?? '');
  return [...new Set([...of('InternalIP'), ...of('ExternalIP')])];
}

async function resolveNodeIPs(opts: ProxyOptions, log: (line: string) => void): Promise<string[]> {
  if (opts.nodeIPs) return [...opts.nodeIPs];
  try {
    const ips = nodeAddresses(await opts.clientset.nodes.get(opts.nodeName));
    if (ips.length > 0) return ips;
    log(`node ${opts.nodeName} has no IPv4 InternalIP or ExternalIP address; NodePorts answer on every local address`);
  } catch (err) {
    log(`cannot read node ${opts.nodeName} (${errorMessage(err)}); NodePorts answer on every local address`);
  }
  return [];
}

/** Starts the proxy: informers, then syncs. Resolves once it runs (see firstSync for the first rules). */
export async function startProxy(opts: ProxyOptions): Promise<RunningProxy> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const nodeIPs = await resolveNodeIPs(opts, log);
  for (const ip of nodeIPs) if (!isIPv4(ip)) throw new Error(`node IP "${ip}" is not an IPv4 address`);
  return new Proxier(opts, nodeIPs, log).start();
}

/** The backend of the chosen mode, over the real kernel unless one is injected (`nftables`: the proxier's own, when not). */
function newBackend(opts: ProxyOptions, nodeIPs: readonly string[], log: (line: string) => void, ownNftables: Nftables | undefined): ProxyBackend {
  const options = {
    nodeIPs,
    nodeName: opts.nodeName,
    ...(opts.clusterCIDR ? { clusterCIDR: opts.clusterCIDR } : {}),
    ...(opts.masqueradeBit !== undefined ? { masqueradeBit: opts.masqueradeBit } : {}),
  };
  const iptables = opts.iptables ?? new ExecIptables();
  const nftables = opts.nftables ?? ownNftables ?? new ExecNftables();
  const cleanOther = opts.cleanupOtherMode ?? (opts.iptables === undefined && opts.nftables === undefined);
  // The other mode's leftovers: a failure to remove them is reported, never fatal (its tool may be missing).
  const removing = (what: string, remove: () => Promise<unknown>) => async (): Promise<void> => {
    try {
      await remove();
    } catch (err) {
      // Its tool not installed: that mode never ran here.
      if (!/ENOENT/.test(errorMessage(err))) log(`proxy: could not remove the ${what} mode's rules: ${errorMessage(err)}`);
    }
  };
  if (opts.mode === 'nftables') {
    return new NftablesBackend(nftables, options, cleanOther ? removing('iptables', () => cleanupIptables(iptables)) : undefined);
  }
  return new IptablesBackend(iptables, options, cleanOther ? removing('nftables', () => cleanupNftables(nftables)) : undefined);
}

class Proxier {
  private readonly clock: Clock;
  private readonly backend: ProxyBackend;
  /** The nftables helper this proxier started (nftables mode, none injected); closed on stop. */
  private readonly ownNftables: Nftables | undefined;
  private readonly metrics: ProxyMetrics;
  private readonly runner: SyncRunner;
  private readonly services: Informer<Service>;
  private readonly endpoints: Informer<Endpoints>;
  private readonly portCache = new ServicePortCache();
  private readonly syncPeriodMs: number;
  private readonly fullSyncPeriodMs: number;
  /** When the last full sync started (ms, clock time). */
  private lastFullSync = -Infinity;
  /** Endpoints keys -> trigger times (ms) of changes not yet programmed. */
  private readonly pendingTriggers = new Map<string, number>();
  private readonly startedAt: number;
  /** "ns/name" of the services whose Service or Endpoints changed since the last sync began. */
  private dirty = new Set<string>();
  /** The port changes of failed syncs since the last successful one. */
  private unsynced: PortChanges | undefined;
  private conntrackMissing = false;
  private readonly conntrack: Conntrack;
  private lastUpdated: number | undefined;
  private firstSyncDone!: () => void;
  private firstSyncFailed!: (err: Error) => void;
  readonly firstSync = new Promise<void>((resolve, reject) => {
    this.firstSyncDone = resolve;
    this.firstSyncFailed = reject;
  });
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly opts: ProxyOptions,
    readonly nodeIPs: readonly string[],
    private readonly log: (line: string) => void,
  ) {
    this.firstSync.catch(() => undefined);
    this.clock = opts.clock ?? realClock;
    this.startedAt = this.clock.now();
    this.ownNftables = opts.mode === 'nftables' && !opts.nftables ? defaultNftables(log) : undefined;
    this.backend = newBackend(opts, nodeIPs, log, this.ownNftables);
    this.conntrack = opts.conntrack ?? new ExecConntrack();
    this.metrics = newProxyMetrics(opts.registry);
    this.syncPeriodMs = opts.syncPeriodMs ?? 30_000;
    this.fullSyncPeriodMs = opts.fullSyncPeriodMs ?? this.syncPeriodMs;
    const runSync = opts.runSync;
    this.runner = new SyncRunner(runSync ? () => runSync(() => this.sync()) : () => this.sync(), {
      minIntervalMs: opts.minSyncPeriodMs ?? 1000,
      maxIntervalMs: this.syncPeriodMs,
      clock: this.clock,
      onError: (err) => this.log(`proxy: sync failed, will retry: ${errorMessage(err)}`),
    });
    this.services = opts.informers.informerFor('Service');
    this.endpoints = opts.informers.informerFor('Endpoints');
  }

  start(): RunningProxy {
    this.services.addEventHandler({
      onAdd: (s) => this.changed('service', s),
      onUpdate: (a, b) => a !== b && this.changed('service', b),
      onDelete: (s) => this.changed('service', s),
    });
    this.endpoints.addEventHandler({
      onAdd: (e) => this.endpointsChanged(undefined, e),
      onUpdate: (a, b) => a !== b && this.endpointsChanged(a, b),
      onDelete: (e) => this.changed('endpoints', e),
    });
    this.opts.informers.start();
    // The first sync waits for both caches: rules built from half a list would cut live services.
    Promise.all([this.services.waitForSync(), this.endpoints.waitForSync()]).then(
      () => {
        if (!this.stopping) this.runner.start();
      },
      (err: unknown) => this.firstSyncFailed(asError(err)),
    );
    return {
      registry: this.metrics.registry,
      nodeIPs: this.nodeIPs,
      firstSync: this.firstSync,
      health: () => this.health(),
      stop: () => this.stop(),
    };
  }

  /** A Service or Endpoints object changed: its service is rebuilt by the next sync (kube-proxy's change trackers). */
  private changed(what: 'service' | 'endpoints', obj: Service | Endpoints): void {
    // Before the first sync has filled the cache it rebuilds from every service: no key to keep (20,000 events at 10,000 services).
    if (this.portCache.size > 0) this.dirty.add(`${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`);
    (what === 'service' ? this.metrics.serviceChanges : this.metrics.endpointChanges).inc();
    this.metrics.lastQueuedTimestamp.set(this.clock.now() / 1000);
    this.runner.run();
  }

  /**
   * Records when the change of a service's pods happened (the trigger time a
   * new change sets), to measure network programming latency. Trigger times
   * from before the proxy started are not its latency, and are skipped.
   */
  private endpointsChanged(old: Endpoints | undefined, eps: Endpoints): void {
    const trigger = eps.metadata?.annotations?.[TRIGGER_TIME_ANNOTATION];
    const at = Date.parse(trigger ?? '');
    const key = `${eps.metadata?.namespace ?? ''}/${eps.metadata?.name ?? ''}`;
    const fresh = trigger !== old?.metadata?.annotations?.[TRIGGER_TIME_ANNOTATION] && at >= this.startedAt;
    if (fresh && !this.pendingTriggers.has(key)) this.pendingTriggers.set(key, at);
    this.changed('endpoints', eps);
  }

  /** One sync, full or partial; throws (and the runner retries, with a full sync) when iptables fails. */
  private async sync(): Promise<void> {
    const start = this.clock.now();
    const triggers = new Map(this.pendingTriggers);
    const full = !this.backend.synced || start - this.lastFullSync >= this.fullSyncPeriodMs;
    let changes: PortChanges = { removed: [], added: [] };
    try {
      changes = this.portChanges();
      let all: readonly ServicePortState[] | undefined;
      await this.backend.sync({ all: () => (all ??= this.portCache.list()), changes }, full);
    } catch (err) {
      // Whatever failed, the backend may have missed changes: only a full sync is valid next.
      this.metrics.restoreFailures.inc();
      this.backend.reset();
      // What the UDP flows must follow is the change since the last successful sync: these too.
      this.unsynced = mergeChanges(this.unsynced, changes);
      throw err;
    }
    if (full) this.lastFullSync = start;
    await this.clearStaleUdpFlows(mergeChanges(this.unsynced, changes));
    this.unsynced = undefined;
    const end = this.clock.now();
    this.metrics.syncDuration.observe((end - start) / 1000);
    (full ? this.metrics.fullSyncDuration : this.metrics.partialSyncDuration).observe((end - start) / 1000);
    this.metrics.lastSyncTimestamp.set(end / 1000);
    for (const [table, n] of Object.entries(this.backend.ruleCounts())) this.metrics.rulesTotal.set({ table }, n);
    for (const [key, at] of triggers) {
      this.metrics.networkProgramming.observe(Math.max(0, end - at) / 1000);
      if (this.pendingTriggers.get(key) === at) this.pendingTriggers.delete(key);
    }
    if (this.lastUpdated === undefined) {
      this.log(
        `proxy: first sync done (${this.backend.mode} mode): ${this.portCache.list().length} service port(s), NodePorts on ${this.nodeIPs.join(', ') || 'every local address'}`,
      );
    }
    this.lastUpdated = end;
    this.firstSyncDone();
  }

  /**
   * The service ports changed since the last sync: only the services whose
   * objects changed are rebuilt (O(changed services)); the first sync, or a
   * batch of changes to many services, rebuilds from every service.
   */
  private portChanges(): PortChanges {
    const dirty = this.dirty;
    this.dirty = new Set();
    const get = (key: string): Endpoints | undefined => this.endpoints.store.get(key);
    if (this.portCache.size === 0 || dirty.size > REBUILD_ALL_ABOVE) return this.portCache.rebuildAll(this.services.store.list(), get);
    return this.portCache.apply(dirty, (key) => this.services.store.get(key), get);
  }

  /** After the rules changed: deletes the UDP flows they made stale. Failures are reported, never fatal. */
  private async clearStaleUdpFlows(changes: PortChanges): Promise<void> {
    const filters = staleUdpFlowFilters(changes.removed, changes.added);
    if (this.conntrackMissing) return;
    for (const filter of filters) {
      try {
        await this.conntrack.deleteFlows(filter);
      } catch (err) {
        if (err instanceof ConntrackMissingError) {
          this.conntrackMissing = true;
          this.log(`proxy: ${err.message}: stale UDP flows will not be cleared`);
          return;
        }
        this.log(`proxy: clearing stale UDP flows: ${errorMessage(err)}`);
      }
    }
  }

  private health(): ProxyHealth {
    const now = this.clock.now();
    const timeout = 2 * this.syncPeriodMs;
    const base = { lastUpdated: this.lastUpdated, currentTime: now };
    if (this.lastUpdated === undefined) return { ...base, healthy: false, reason: 'the rules have not been synced yet' };
    if (now - this.lastUpdated > timeout) {
      return { ...base, healthy: false, reason: `no successful sync for ${Math.round((now - this.lastUpdated) / 1000)} s (limit ${timeout / 1000} s)` };
    }
    return { ...base, healthy: true };
  }

  private stop(): Promise<void> {
    return (this.stopping ??= (async () => {
      await this.runner.stop();
      if (this.opts.stopInformers !== false) await this.opts.informers.stop();
      await this.ownNftables?.close?.();
      this.firstSyncFailed(new Error('the proxy stopped before its first sync'));
    })());
  }
}
