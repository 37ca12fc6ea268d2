// startApiServer: the API server as a library, for `tsk apiserver`, the
// future `tsk server` and the tests. Start-up is a straight list of steps,
// each logged; stop() undoes them in reverse order.

import * as grpc from '@grpc/grpc-js';
import { AlreadyExistsError, UnavailableError } from '../api/errors';
import type { VersionInfo } from '../api/gen/tsk/v1/meta';
import type { Event, Namespace, Pod } from '../api/gen/tsk/v1/core';
import { rfc3339 } from '../util/time';
import { KIND_NAMES, KINDS, type KindName } from '../api/kinds';
import { nodeRestriction } from './admission/node-restriction';
import type { Level } from './admission/pod-security';
import { defaultAuthorizer } from './auth/default-authorizer';
import type { NodeGraph } from './auth/node-authorizer';
import type { Authenticator, CallCredentials, UserInfo } from './auth/user';
import { GrpcApi, GRPC_MAX_RECEIVE_BYTES } from './grpc/server';
import { ServingCertificateProvider, servingCredentials, type ServingTls } from './grpc/tls';
import { RequestAuthenticator } from './auth/authenticator';
import { loadTokenFile } from './auth/token-file';
import type { CertKey } from '../util/pki';
import { TunnelRegistry } from './tunnel/registry';
import { RestApi, listenRest, type RestExtensions } from './rest';
import { CORE_EXTENSIONS } from './rest/extensions';
import { listenHealthServer, type MetricsSource } from '../util/health-server';
import { httpTls, type ServingHttp } from './http-tls';
import { bindListenAddress, parseListenAddress, type Bound } from './grpc/listen';
import { cachePeerCertificates } from './grpc/peer-certificates';
import type { Etcd3 } from 'etcd3';
import { ApiServerMetrics } from './metrics';
import { EXEMPT_ONLY, PRIORITY_LEVELS } from './flowcontrol/config';
import { DEFAULT_SERVER_CONCURRENCY, FlowControl } from './flowcontrol/dispatcher';
import { NamespaceLifecycle, SYSTEM_NAMESPACES, namespaceStrategy } from './registry/namespaces';
import { ensureKubeDnsService } from './registry/kube-dns';
import { startEndpointReconciler } from './ha/endpoint-reconciler';
import { DEFAULT_CLUSTER_DOMAIN, defaultClusterDNS } from '../api/cluster-dns';
import { podStrategy } from './registry/pods';
import { ServiceAllocators, serviceStrategy } from './registry/services';
import { Registry, type RegistryContext } from './registry/store';
import { PLAIN_STRATEGY, type Strategy } from './registry/strategy';
import { LeaseManager } from './storage/lease-manager';
import { connectEtcd, type EtcdClientTls } from './storage/etcd-connection';
import { EtcdCacheSource } from './storage/etcd-source';
import { EtcdStore } from './storage/etcd-store';
import { progressRequestsReliable } from './storage/progress-support';
import { etcdCompactionBackend, startCompactor } from './storage/compactor';
import { etcdMaintenanceBackend, startMaintenance, type DefragPolicy, type RunningMaintenance, type StorageHealth } from './storage/maintenance';
import type { StorageTransformers } from './storage/encryption';
import { kindPrefix, objectKey } from './storage/keys';
import { WatchCache } from './storage/watch-cache';
import { Bootstrap } from './bootstrap/service';
import { ensureServerToken, type ServerToken } from './bootstrap/server-token';
import { EtcdTokenStore } from './bootstrap/tokens';
import { EtcdNodeKeyStore } from './bootstrap/node-keys';
import { caHash } from '../util/pki';
import { errorMessage } from '../util/errors';
import { Backoff } from '../util/backoff';

export const TSK_VERSION = '0.1.0';

export interface ApiServerOptions {
  /** etcd client URLs. */
  etcdServers: string[];
  /** TLS to etcd (https URLs): its CA and the API server's client certificate. */
  etcdTls?: EtcdClientTls;
  /**
   * gRPC addresses, comma-separated: HOST:PORT (port 0 picks a free one) or
   * unix:/ABS/PATH. The first is the one written to the client config.
   */
  address: string;
  /** HTTP HOST:PORT; port 0 picks a free one. */
  httpAddress: string;
  /** The Kubernetes REST API's HTTPS HOST:PORT (port 0 picks a free one); absent or "": not served. Needs tls. */
  restAddress?: string;
  /** PATCH and OpenAPI of the REST API. */
  restExtensions?: RestExtensions;
  serviceCidr?: string;
  /** The cluster DNS address kept as the kube-dns Service's ClusterIP; default the service CIDR's 10th address. */
  clusterDns?: string;
  /** Published on the kube-dns Service; default cluster.local. */
  clusterDomain?: string;
  nodePortRange?: string;
  /** Ring buffer size of each watch cache (events). */
  watchCacheCapacity?: number;
  /** Events a watcher may have queued before it is cut off. */
  watchQueueLimit?: number;
  /** API Priority and Fairness; default on with Kubernetes' 600 seats. */
  flowControl?: { enabled: boolean; serverConcurrency: number };
  bookmarkIntervalMs?: number;
  /** Seconds an Event is kept after its last write (--event-ttl); default an hour. */
  eventTtlSeconds?: number;
  /** How often etcd is compacted (--etcd-compaction-interval); default 5 minutes, 0 never. */
  etcdCompactionIntervalMs?: number;
  /** How often database sizes are read and defragmentation considered; default a minute, 0 never. */
  etcdMaintenanceIntervalMs?: number;
  /** The members' backend quota in bytes, for the quota-left figures; 0 or unset: unknown. */
  etcdQuotaBytes?: number;
  /** When a member is defragmented; default storage/maintenance's DEFAULT_DEFRAG_POLICY. */
  etcdDefragPolicy?: DefragPolicy;
  /** More lines for /readyz's answer (the last etcd snapshot). */
  readyDetail?: () => string | undefined;
  now?: () => Date;
  random?: () => number;
  log?: (msg: string) => void;
  /** Other components' metrics served on this server's /metrics too (tsk server). */
  extraMetrics?: readonly MetricsSource[];
  /**
   * Who a call comes from: replaces the certificate and token authenticator
   * of the transport (tests inject their own).
   */
  authenticator?: Authenticator;
  /** Pod Security's level for namespaces without the enforce label (--pod-security-default-enforce); default privileged, as Kubernetes. */
  podSecurityDefaultEnforce?: Level;
  /** TLS on every gRPC listener: required unless insecurePlaintext. */
  tls?: ServingTls & {
    /** Called every renewCheckMs; a certificate different from the one served is swapped in. */
    renew?: () => Promise<CertKey>;
    /** Default an hour. */
    renewCheckMs?: number;
  };
  /**
   * Serve gRPC in plaintext with no client certificates: ONLY for the TLS
   * cost comparison of `npm run bench:api`. Anyone who can reach the port
   * can then read and write everything.
   */
  insecurePlaintext?: boolean;
  /** kube-apiserver's --token-auth-file: CSV of token,user,uid,"group1,group2". */
  tokenAuthFile?: string;
  /** Join tokens and certificates for joining nodes (tsk.v1.Bootstrap); not served without it. */
  bootstrap?: BootstrapOptions;
  /** A clustered server's address and API port, kept in the default/kubernetes Endpoints (the lease reconciler); absent: not published. */
  endpointReconciler?: { ip: string; port: number };
  /** Encryption at rest by resource (--encryption-provider-config); default: nothing encrypted. */
  encryption?: StorageTransformers;
}

export interface BootstrapOptions {
  /** The cluster CA: it signs the joiners' certificates; its hash is in every token. */
  ca: CertKey;
  /** Where the server token is kept (<data-dir>/token); none is made when absent. */
  tokenFile?: string;
  /** Joining servers (tsk server --cluster-init): adds an etcd member on the shared etcd client, returns the bootstrap data. */
  serverJoin?: (etcd: Etcd3, name: string, peerUrl: string) => Promise<{ files: Record<string, string>; initialCluster: string[] }>;
  /** The caller of a call, for the admin-only token calls and renewals; default: the server's authenticator. */
  authenticate?: (call: CallCredentials) => UserInfo | undefined;
}

export interface RunningApiServer {
  /** The first gRPC address, with the real port. */
  readonly grpcAddress: string;
  /** Every gRPC address, in the order given. */
  readonly grpcAddresses: readonly string[];
  readonly httpAddress: string;
  /** The REST API's HOST:PORT with the real port; undefined when not served. */
  readonly restAddress: string | undefined;
  readonly metrics: ApiServerMetrics;
  /** The server token, when ApiServerOptions.bootstrap.tokenFile was given. */
  readonly serverToken: ServerToken | undefined;
  stop(): Promise<void>;
}

/** Retries until etcd answers or timeoutMs has passed; the waits double from 200 ms to 2 s (a just-started etcd answers within the first few). */
async function waitForEtcd(store: EtcdStore, urls: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const backoff = new Backoff({ initialMs: 200, maxMs: 2000 });
  for (;;) {
    try {
      await store.currentRevision();
      return;
    } catch (err) {
      if (Date.now() > deadline) {
        throw new Error(`etcd at ${urls.join(',')} is not reachable: ${errorMessage(err)}`, { cause: err });
      }
      await new Promise((r) => setTimeout(r, Math.min(backoff.next(), Math.max(0, deadline - Date.now()) + 1)));
    }
  }
}

/**
 * Database sizes, defragmentation and the quota watch (storage/maintenance.ts),
 * published as metrics; undefined when turned off (interval 0).
 */
/**
 * Whether the watch caches may ask etcd for progress notifications (serving
 * consistent reads from the cache); on an etcd too old to answer them
 * reliably, or one whose version cannot be read, consistent reads go to etcd.
 */
async function etcdProgressRequests(store: EtcdStore, log: (line: string) => void): Promise<boolean> {
  const version = await store.version(5000).catch(() => '');
  if (progressRequestsReliable(version)) return true;
  log(
    `etcd ${version || '(version unknown)'} may answer watch progress requests early (etcd-io/etcd#15220; fixed in 3.4.31 and 3.5.13): consistent lists are read from etcd rather than from the watch cache`,
  );
  return false;
}

function startStorageMaintenance(
  etcd: Etcd3,
  opts: ApiServerOptions,
  metrics: ApiServerMetrics,
  log: (m: string) => void,
  warn: (h: StorageHealth) => Promise<void>,
): RunningMaintenance | undefined {
  const intervalMs = opts.etcdMaintenanceIntervalMs ?? 60_000;
  if (intervalMs <= 0) return undefined;
  const quotaBytes = opts.etcdQuotaBytes ?? 0;
  if (quotaBytes > 0) metrics.storageQuota.set(quotaBytes);
  return startMaintenance(
    etcdMaintenanceBackend(etcd, (url) => connectEtcd([url], opts.etcdTls)),
    {
      intervalMs,
      quotaBytes,
      ...(opts.etcdDefragPolicy ? { policy: opts.etcdDefragPolicy } : {}),
      log,
      onHealth: (h) => {
        for (const m of h.members) {
          metrics.storageSize.set({ member: m.url }, m.dbSizeBytes);
          metrics.storageSizeInUse.set({ member: m.url }, m.dbSizeInUseBytes);
        }
      },
      onDefragmented: (url) => metrics.defragmentations.inc({ member: url }),
      onNearQuota: (h) => {
        log(`WARNING: ${describeStorageHealth(h)}: compact, defragment or raise the quota before etcd refuses writes`);
        warn(h).catch((err: unknown) => log(`could not record the near-quota event: ${errorMessage(err)}`));
      },
    },
  );
}

/**
 * A Warning Event (in default) while writes still succeed, so `tsctl get
 * events -A` shows the problem before etcd starts refusing them.
 */
async function nearQuotaEvent(events: Registry, h: StorageHealth, now: () => Date): Promise<void> {
  const at = rfc3339(now());
  await events.create({
    apiVersion: 'v1',
    kind: 'Event',
    // Events of a cluster-scoped object live in "default" (Kubernetes' rule for involvedObject without a namespace).
    metadata: { name: `etcd-database-near-quota.${now().getTime().toString(16)}`, namespace: 'default' },
    involvedObject: { apiVersion: 'v1', kind: 'Namespace', name: 'default' },
    reason: 'EtcdDatabaseNearQuota',
    message: `${describeStorageHealth(h)}: compact, defragment or raise the quota before etcd refuses writes`,
    type: 'Warning',
    source: { component: 'apiserver' },
    firstTimestamp: at,
    lastTimestamp: at,
    count: 1,
  } as Event);
}

export function describeStorageHealth(h: StorageHealth): string {
  const mib = (n: number): string => `${(n / (1024 * 1024)).toFixed(1)} MiB`;
  const quota = h.quotaLeftBytes === undefined ? 'quota unknown' : `${mib(h.quotaLeftBytes)} of the ${mib(h.quotaBytes)} quota left`;
  return `etcd database: ${mib(h.largestDbSizeBytes)} (${h.members.length} member${h.members.length === 1 ? '' : 's'}), ${quota}${h.nearQuota ? ' (NEAR QUOTA)' : ''}`;
}

/** kube-apiserver's --etcd-compaction-interval default. */
const DEFAULT_COMPACTION_INTERVAL_MS = 5 * 60_000;

/**
 * The node authorizer's graph from the Pod watch cache: the pods of a
 * namespace bound to a node. A scan of the cached keys (the namespace is read
 * from the key, only that namespace's pods are decoded) on each Secret or
 * ConfigMap read by a node: those come once per pod start or watch, not per
 * event. The cache is fed in etcd's order, so a kubelet that saw its pod
 * bound (through the same cache) finds it here too.
 */
function nodeGraphOf(pods: WatchCache): NodeGraph {
  return {
    *podsOn(node: string, namespace: string): Iterable<Pod> {
      for (const o of pods.values()) {
        if (o.namespace !== namespace) continue;
        const pod = o.obj as Pod;
        if (pod.spec?.nodeName === node) yield pod;
      }
    },
  };
}

/**
 * Kinds without a watch cache, as Kubernetes' DefaultWatchCacheSizes
 * (events#0): nothing in the control plane watches or reads Events, so
 * caching each of them (and its etcd watch event, decoded and applied per
 * write) only costs. Lists read etcd; watches have etcd watches of their own.
 */
export const UNCACHED_KINDS: ReadonlySet<KindName> = new Set(['Event']);

/** Kubernetes' --event-ttl default: events are kept an hour. */
export const DEFAULT_EVENT_TTL_SECONDS = 3600;

function strategyFor(kind: KindName, allocators: ServiceAllocators, eventTtlSeconds: number): Strategy {
  switch (kind) {
    case 'Event':
      return { ...PLAIN_STRATEGY, ttlSeconds: () => eventTtlSeconds };
    case 'Pod':
      return podStrategy();
    case 'Service':
      return serviceStrategy(allocators);
    case 'Namespace':
      return namespaceStrategy();
    default:
      return PLAIN_STRATEGY;
  }
}

export async function startApiServer(opts: ApiServerOptions): Promise<RunningApiServer> {
  const log = opts.log ?? ((m: string) => console.log(`tsk apiserver: ${m}`));
  const now = opts.now ?? (() => new Date());
  const random = opts.random ?? Math.random;
  const metrics = new ApiServerMetrics();
  const cleanups: (() => Promise<void> | void)[] = [];
  const stop = async (): Promise<void> => {
    for (const c of cleanups.reverse()) await c();
    cleanups.length = 0;
  };
  try {
    // 1. etcd
    const etcd = connectEtcd(opts.etcdServers, opts.etcdTls);
    cleanups.push(() => etcd.close());
    const store = new EtcdStore(etcd, metrics, opts.encryption);
    await waitForEtcd(store, opts.etcdServers, 30_000);
    log(`connected to etcd at ${opts.etcdServers.join(',')}`);
    const encrypted = store.transformers.resources;
    if (encrypted.length > 0) log(`encryption at rest for ${encrypted.join(', ')}`);

    // 2. watch caches, one etcd watch per kind (but Events)
    const progressRequests = await etcdProgressRequests(store, log);
    const caches = new Map<KindName, WatchCache>();
    for (const kind of KIND_NAMES) {
      if (UNCACHED_KINDS.has(kind)) continue;
      const resource = KINDS[kind].plural;
      const gauge = metrics.storageObjects.labels({ resource });
      caches.set(
        kind,
        new WatchCache(kind, new EtcdCacheSource(store, kindPrefix(kind), resource, progressRequests), {
          capacity: opts.watchCacheCapacity,
          onSizeChange: (n) => gauge.set(n),
        }),
      );
    }
    cleanups.push(() => {
      for (const c of caches.values()) c.stop(new UnavailableError('the API server is shutting down'));
    });
    await Promise.all([...caches.values()].map((c) => c.ready()));
    const compactionMs = opts.etcdCompactionIntervalMs ?? DEFAULT_COMPACTION_INTERVAL_MS;
    if (compactionMs > 0) {
      const compactor = startCompactor(etcdCompactionBackend(etcd), {
        intervalMs: compactionMs,
        log,
        onCompacted: (rev) => {
          metrics.compactions.inc({ result: 'success' });
          metrics.compactedRevision.set(rev);
        },
        onError: () => metrics.compactions.inc({ result: 'error' }),
      });
      cleanups.push(() => compactor.stop());
    }
    log(`watch caches loaded (${[...caches.values()].reduce((n, c) => n + c.size, 0)} objects)`);

    // 3. registries
    const nsCache = caches.get('Namespace')!;
    const ctx: RegistryContext = {
      store,
      caches,
      now,
      random,
      namespaceTerminating: (ns) => {
        const cached = nsCache.get(objectKey('Namespace', '', ns))?.obj as Namespace | undefined;
        return cached?.status?.phase === 'Terminating';
      },
      // The real clock, not opts.now: lease lifetimes are counted by etcd.
      leases: new LeaseManager((ttl) => store.grantLease(ttl)),
    };
    const allocators = new ServiceAllocators(store, {
      serviceCidr: opts.serviceCidr ?? '10.96.0.0/16',
      nodePortRange: opts.nodePortRange ?? '30000-32767',
      random,
    });
    const registries = new Map<KindName, Registry>();
    for (const kind of KIND_NAMES)
      registries.set(kind, new Registry(kind, ctx, strategyFor(kind, allocators, opts.eventTtlSeconds ?? DEFAULT_EVENT_TTL_SECONDS)));

    const maintenance = startStorageMaintenance(etcd, opts, metrics, log, (h) => nearQuotaEvent(registries.get('Event')!, h, now));
    if (maintenance) cleanups.push(() => maintenance.stop());

    // 4. system namespaces, and namespaces left half-deleted
    for (const name of SYSTEM_NAMESPACES) {
      try {
        await registries.get('Namespace')!.create({ metadata: { name } });
        log(`created namespace ${name}`);
      } catch (err) {
        if (!(err instanceof AlreadyExistsError)) throw err;
      }
    }
    // The kube-dns Service: the cluster DNS address, never handed to another Service.
    const clusterDns = opts.clusterDns ?? defaultClusterDNS(opts.serviceCidr ?? '10.96.0.0/16');
    if (clusterDns === undefined) log(`service CIDR ${opts.serviceCidr ?? ''} has no 10th address: no kube-dns Service, no cluster DNS (give --cluster-dns)`);
    else await ensureKubeDnsService(registries.get('Service')!, clusterDns, opts.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN, log);
    if (opts.endpointReconciler) {
      const reconciler = startEndpointReconciler({
        etcd,
        services: registries.get('Service')!,
        endpoints: registries.get('Endpoints')!,
        ...opts.endpointReconciler,
        log,
      });
      cleanups.push(() => reconciler.stop());
    }
    const lifecycle = new NamespaceLifecycle({ registries, now, log });
    cleanups.push(() => lifecycle.stop());
    await lifecycle.resume();

    // 5. gRPC
    const version = async (): Promise<VersionInfo> => {
      const etcdVersion = await store.version().catch(() => '');
      return {
        version: `v${TSK_VERSION}`,
        gitCommit: '',
        platform: `${process.platform}/${process.arch}`,
        nodeVersion: process.version,
        etcdVersion,
      };
    };
    const server = new grpc.Server({
      'grpc.max_receive_message_length': GRPC_MAX_RECEIVE_BYTES,
      'grpc.max_send_message_length': -1,
      'grpc.enable_channelz': 0,
      // A client that vanished without closing its TCP connection (a node
      // that lost power) is found by keepalive pings; otherwise its watches
      // would be kept, and fed, forever. grpc-js's default is two hours.
      'grpc.keepalive_time_ms': 60_000,
      'grpc.keepalive_timeout_ms': 20_000,
    });
    const tunnels = new TunnelRegistry(metrics, log);
    const transport = await servingTransport(opts, log, cleanups);
    // One authenticator, authorizer and admission chain for both encodings of the API.
    const shared = {
      authenticator: opts.authenticator ?? transport.authenticator,
      authorizer: defaultAuthorizer(nodeGraphOf(caches.get('Pod')!)),
      admission: { plugins: [nodeRestriction], podSecurityDefaultEnforce: opts.podSecurityDefaultEnforce ?? 'privileged' },
      tunnels,
      registries,
      caches,
      store,
      namespaces: lifecycle,
      metrics,
      watch: { maxQueue: opts.watchQueueLimit ?? 10_000, bookmarkIntervalMs: opts.bookmarkIntervalMs ?? 10_000 },
      flowControl: new FlowControl({
        levels: opts.flowControl?.enabled === false ? EXEMPT_ONLY : PRIORITY_LEVELS,
        serverConcurrency: opts.flowControl?.serverConcurrency ?? DEFAULT_SERVER_CONCURRENCY,
        registry: metrics.registry,
      }),
      log,
    };
    new GrpcApi({ ...shared, version }).register(server);
    let serverToken: ServerToken | undefined;
    if (opts.bootstrap) {
      const b = opts.bootstrap;
      const tokens = new EtcdTokenStore(etcd);
      const hash = caHash(b.ca.certPem);
      if (b.tokenFile !== undefined) serverToken = await ensureServerToken({ file: b.tokenFile, caHash: hash, store: tokens, now: now() });
      const authenticate = b.authenticate ?? ((call: CallCredentials) => transport.authenticator.authenticate(call));
      const serverJoin = b.serverJoin;
      new Bootstrap({
        ca: b.ca,
        caHash: hash,
        tokens,
        nodeKeys: new EtcdNodeKeyStore(etcd),
        authenticate,
        now,
        log,
        ...(serverJoin ? { serverJoin: (name: string, peerUrl: string) => serverJoin(etcd, name, peerUrl) } : {}),
      }).register(server);
    }
    // Bound before anything can fail later, so a socket file is always cleaned up.
    const bound: Bound[] = [];
    cleanups.push(async () => {
      for (const b of bound) await b.cleanup();
    });
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          const force = setTimeout(() => {
            server.forceShutdown();
            resolve();
          }, 1000);
          server.tryShutdown(() => {
            clearTimeout(force);
            resolve();
          });
        }),
    );
    // Runs before the shutdown above (cleanups run in reverse): tunnels never end by themselves.
    cleanups.push(() => tunnels.closeAll());
    for (const text of opts.address.split(',')) bound.push(await bindListenAddress(server, parseListenAddress(text.trim()), transport.credentials));
    if (!opts.insecurePlaintext && cachePeerCertificates(server) === 0) {
      log('warning: found no TLS listener of grpc-js to cache peer certificates on (grpc-js internals changed?): every call reads its certificate again');
    }
    const grpcAddresses = bound.map((b) => b.address);
    const grpcAddress = grpcAddresses[0] ?? '';

    // 6. HTTP
    const http = await listenHealthServer(
      opts.httpAddress,
      {
        registry: metrics.registry,
        extra: opts.extraMetrics ?? [],
        checkReady: async () => {
          await Promise.race([
            store.currentRevision(),
            new Promise((_, reject) => setTimeout(() => reject(new Error('etcd did not answer within 2s')), 2000).unref()),
          ]).catch((err: unknown) => {
            throw new Error(`etcd is not reachable: ${errorMessage(err)}`);
          });
          const health = maintenance?.health();
          const lines = [health ? describeStorageHealth(health) : undefined, opts.readyDetail?.()].filter((l): l is string => l !== undefined);
          return lines.length > 0 ? lines.join('\n') : undefined;
        },
      },
      'HTTP',
      httpTls(opts.httpAddress, transport.http),
    );
    cleanups.push(() => http.close());
    // A renewed serving certificate reaches the HTTPS port too (loopback is plain HTTP: nothing to renew).
    if (http.scheme === 'https')
      transport.http?.onRenewed((next) => http.setTls({ caPem: transport.http?.caPem ?? '', certPem: next.certPem, keyPem: next.keyPem }));
    const httpAddress = http.address;

    // 7. the Kubernetes REST API
    let restAddress: string | undefined;
    if (opts.restAddress) {
      if (transport.http === undefined)
        throw new Error('--rest-address: the REST API is served over HTTPS only, and a plaintext API server has no certificate');
      const serving = transport.http;
      let address = opts.restAddress;
      const api = new RestApi(
        {
          ...shared,
          version: { tsk: TSK_VERSION, platform: `${process.platform}/${process.arch}` },
          extensions: opts.restExtensions ?? CORE_EXTENSIONS,
          now,
        },
        () => address,
      );
      const rest = await listenRest(opts.restAddress, { caPem: serving.caPem, server: serving.server }, api);
      address = rest.address;
      restAddress = rest.address;
      cleanups.push(() => rest.close());
      serving.onRenewed((next) => rest.setCertificate(next));
    }
    log(
      `serving gRPC on ${grpcAddresses.join(', ')}, HTTP on ${httpAddress}${restAddress ? `, the REST API on ${restAddress}` : ''} (${opts.insecurePlaintext ? 'PLAINTEXT, no authentication' : 'TLS'})`,
    );
    return { grpcAddress, grpcAddresses, httpAddress, restAddress, metrics, serverToken, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Default period of the serving certificate's renewal check. */
export const RENEW_CHECK_MS = 60 * 60 * 1000;

/**
 * The gRPC listeners' credentials and the authenticator for their callers;
 * with TLS also the renewal timer (stopped by a cleanup).
 */
async function servingTransport(
  opts: ApiServerOptions,
  log: (msg: string) => void,
  cleanups: (() => Promise<void> | void)[],
): Promise<{ credentials: grpc.ServerCredentials; authenticator: RequestAuthenticator; http?: ServingHttp }> {
  let tokens;
  if (opts.tokenAuthFile !== undefined) {
    const file = await loadTokenFile(opts.tokenAuthFile);
    for (const w of file.warnings) log(`warning: ${w}`);
    tokens = file.tokens;
    log(`loaded ${tokens.size} bearer token(s) from ${opts.tokenAuthFile}`);
  }
  const tls = opts.tls;
  if (opts.insecurePlaintext) {
    if (tls !== undefined) throw new Error('invariant: both tls and insecurePlaintext given to startApiServer');
    log(
      'WARNING: serving the API in PLAINTEXT (--insecure-plaintext-for-benchmarks-only): anyone who can reach it can read all traffic and impersonate bearer tokens',
    );
    return { credentials: grpc.ServerCredentials.createInsecure(), authenticator: new RequestAuthenticator({ tokens }) };
  }
  if (tls === undefined) throw new Error('invariant: startApiServer needs tls (or insecurePlaintext for the benchmark)');
  const provider = new ServingCertificateProvider(tls);
  const renewed: ((next: CertKey) => void)[] = [];
  const renew = tls.renew;
  if (renew !== undefined) {
    let served = tls.server.certPem;
    const timer = setInterval(() => {
      renew().then(
        (next) => {
          if (next.certPem === served) return;
          served = next.certPem;
          provider.update(next);
          for (const f of renewed) f(next);
          log('serving a renewed TLS certificate');
        },
        (err: unknown) => log(`renewing the serving certificate failed: ${errorMessage(err)}`),
      );
    }, tls.renewCheckMs ?? RENEW_CHECK_MS);
    timer.unref();
    cleanups.push(() => clearInterval(timer));
  }
  return {
    credentials: servingCredentials(provider),
    authenticator: new RequestAuthenticator({ clientCaPem: tls.caPem, tokens }),
    http: { caPem: tls.caPem, server: tls.server, onRenewed: (f) => renewed.push(f) },
  };
}
