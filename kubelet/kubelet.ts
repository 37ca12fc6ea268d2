// startKubelet: the node agent as a library (cmd `tsk kubelet`, later
// `tsk agent`). A straight list of steps: register the Node and start its
// heartbeat, learn the podCIDR, watch this node's pods, reconcile what the
// runtime already runs, then keep both in line:
// - pod informer events, a runtime relist every second (Kubernetes' PLEG)
//   and a periodic resync wake the pod's worker (pod-workers.ts);
// - a worker syncs (pod-sync.ts), terminates a pod being deleted, or cleans
//   up one the API forgot.
// stop() stops the kubelet only: containers keep running, as with the real
// kubelet, and the next start adopts them.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ApiError, UnavailableError } from '../api/errors';
import type { Node, Pod, Service } from '../api/gen/tsk/v1/core';
import { parseQuantity } from '../api/quantity';
import {
  ApiEventRecorder,
  EventRecorderMetrics,
  type Clientset,
  type Clock,
  type Informer,
  realClock,
  referenceTo,
  SharedInformerFactory,
  type TimerHandle,
} from '../client';
import { Backoff } from '../util/backoff';
import { errorMessage } from '../util/errors';
import { ensureReadOnlyOverlay, ensureTmpfs, isMountPoint } from '../util/mounts';
import { listenHealthServer, needsHttps, type HealthTls, type ListeningHealthServer } from '../util/health-server';
import { ImagePuller, type ImageService } from './images';
import { KubeletMetrics } from './metrics';
import { allocatable, DEFAULT_NODE_STATUS_REPORT_FREQUENCY_MS, NodeStatusReporter, readMachineInfo, type MachineInfo } from './node-status';
import { DEFAULT_NODE_LEASE_DURATION_SECONDS, NodeLeaseController } from './node-lease';
import { cachedObjectGetter } from './api-objects';
import type { PodNetwork } from './pod-network';
import { LABEL_CONTAINER_NAME, LABEL_POD_UID, readRuntimeState, type PodRuntimeState } from './pod-runtime';
import { CadvisorCollector, type CadvisorPaths } from './cadvisor';
import { listenKubeletServer } from './server/server';
import { containerFieldPath } from './planner';
import { KubeletStoppingError, PodSyncer } from './pod-sync';
import { PodWorkers } from './pod-workers';
import { newSysctlAllowlist } from './sysctl-allowlist';
import { ProbeManager } from './probes';
import type { ContainerRuntime } from './runtime/runtime';
import { TunnelClient } from './tunnel/client';
import { listPodDirs, removePodDir } from './volumes';
import { readNodeRange, UserNamespaceAllocator, userNamespaceSupportProblem } from './userns';
import { DEFAULT_CLUSTER_DOMAIN } from '../api/cluster-dns';
import { readNodeResolvConf } from './node-resolv-conf';

export const RUNTIME_VERSION = 'tsk://0.1.0';

export interface KubeletOptions {
  clientset: Clientset;
  /** Shared informers (tsk server); the kubelet makes its own when absent. */
  informers?: SharedInformerFactory;
  runtime: ContainerRuntime;
  images: ImageService;
  network: PodNetwork;
  nodeName: string;
  dataDir: string;
  nodeIP?: string;
  /** Set spec.podCIDR of the Node ourselves (no node IPAM controller). */
  podCIDR?: string;
  maxPods?: number;
  systemReserved?: Record<string, string>;
  nodeStatusUpdateFrequencyMs?: number;
  /** An unchanged status is posted only this often (default 5 min, Kubernetes' nodeStatusReportFrequency). */
  nodeStatusReportFrequencyMs?: number;
  /** The heartbeat Lease's duration in seconds (default 40); renewed every quarter of it. */
  nodeLeaseDurationSeconds?: number;
  /** Sysctls pods may set beyond Kubernetes' safe set (--allowed-unsafe-sysctls); throws at start when one is not namespaced. */
  allowedUnsafeSysctls?: readonly string[];
  /** The cluster DNS address for ClusterFirst pods; undefined: none (they fall back to Default, with an event). */
  clusterDNS?: string;
  /** The cluster domain; default cluster.local. */
  clusterDomain?: string;
  /** The node's resolv.conf (--resolv-conf); default /etc/resolv.conf, "" none. */
  resolvConf?: string;
  /** HOST:PORT for /healthz and /metrics; undefined: no HTTP server. */
  httpAddress?: string;
  /** The node's serving certificate: required (HTTPS only) when httpAddress is beyond loopback. */
  httpTls?: HealthTls;
  /**
   * The kubelet's port (--address:--port, kubelet/server): HTTPS with the
   * node's serving certificate, authenticated; `cadvisor` says where the
   * runtime keeps what /metrics/cadvisor reads. Undefined: not served.
   */
  port?: { address: string; tls: HealthTls; cadvisor: CadvisorPaths };
  machine?: MachineInfo;
  clock?: Clock;
  /** Runtime relist period (PLEG); default 1 s. */
  relistPeriodMs?: number;
  /** Every pod is synced at least this often (and its configMap/secret volumes refreshed); default 10 s. */
  resyncPeriodMs?: number;
  /** How long a fetched ConfigMap or Secret is reused; default 5 s. */
  objectTtlMs?: number;
  log?: (line: string) => void;
}

export interface RunningKubelet {
  readonly nodeName: string;
  readonly httpAddress: string | undefined;
  /** HOST:PORT the kubelet's port is bound to (port 0 resolved); undefined when it is not served. */
  readonly portAddress: string | undefined;
  readonly metrics: KubeletMetrics;
  /** Serves a renewed certificate on the HTTPS ports from the next connection on; nothing on plain HTTP. */
  setHttpTls(tls: HealthTls): void;
  /** Stops the kubelet (not its pods). Idempotent. */
  stop(): Promise<void>;
}

const uidOf = (p: Pod): string => p.metadata?.uid ?? '';

/** A fingerprint of a pod's runtime state: changes when a container or sandbox appears, goes or changes state. */
function fingerprint(st: PodRuntimeState): string {
  return [...st.sandboxes.map((s) => `s${s.id}:${s.state}`), ...st.containers.map((c) => `c${c.id}:${c.state}`)].join(',');
}

class Kubelet implements RunningKubelet {
  readonly metrics = new KubeletMetrics();
  httpAddress: string | undefined;
  portAddress: string | undefined;
  private readonly clock: Clock;
  private readonly log: (line: string) => void;
  private readonly ownInformers: boolean;
  private readonly factory: SharedInformerFactory;
  private readonly informer: Informer<Pod>;
  private readonly nodeInformer: Informer<Node>;
  /** Every Service, for the Service environment variables of containers. */
  private readonly services: Informer<Service>;
  private readonly recorder: ApiEventRecorder;
  private readonly probes: ProbeManager;
  private readonly syncer: PodSyncer;
  private readonly workers: PodWorkers;
  private readonly reporter: NodeStatusReporter;
  private readonly lease: NodeLeaseController;
  /** The Node as last read or written, for the Lease's owner reference. */
  private node: Node | undefined;
  /** pod UID -> informer key, and the last state of pods that left the informer. */
  private readonly keys = new Map<string, string>();
  private readonly lastKnown = new Map<string, Pod>();
  private fingerprints = new Map<string, string>();
  private relistError: string | undefined;
  /** The pending timer of each periodic loop (relist, housekeeping). */
  private readonly timers = new Map<string, TimerHandle>();
  private server: ListeningHealthServer | undefined;
  private portServer: ListeningHealthServer | undefined;
  private tunnel: TunnelClient | undefined;
  private stopping: Promise<void> | undefined;
  private relisting: Promise<void> | undefined;

  constructor(private readonly o: KubeletOptions) {
    this.clock = o.clock ?? realClock;
    this.log = o.log ?? ((line) => console.error(`kubelet: ${line}`));
    this.ownInformers = o.informers === undefined;
    this.factory =
      o.informers ??
      new SharedInformerFactory(o.clientset, { clock: this.clock, onError: (err, ctx) => this.log(`pod informer: ${ctx}: ${errorMessage(err)}`) });
    this.informer = this.factory.informerFor('Pod', {}, { fieldSelector: `spec.nodeName=${o.nodeName}` });
    this.services = this.factory.informerFor('Service');
    // The kubelet's node lister: status posts start from it rather than a read of the Node.
    this.nodeInformer = this.factory.informerFor('Node', {}, { fieldSelector: `metadata.name=${o.nodeName}` });
    this.recorder = new ApiEventRecorder(
      o.clientset.events,
      { component: 'kubelet', host: o.nodeName },
      { clock: this.clock, metrics: new EventRecorderMetrics(this.metrics.registry) },
    );
    this.probes = new ProbeManager({
      runtime: o.runtime,
      clock: this.clock,
      onChange: (uid) => this.workers.enqueue(uid),
      event: (pod, container, type, reason, message) => {
        this.recorder.event({ ...referenceTo('Pod', pod), fieldPath: containerFieldPath(pod, container) }, type, reason, message);
      },
    });
    const puller = new ImagePuller(o.images, { now: () => this.clock.now(), log: this.log });
    const machine = o.machine ?? readMachineInfo();
    const alloc = allocatable({ cpu: String(machine.cpus), memory: `${machine.memoryKi}Ki` }, o.systemReserved ?? {});
    this.syncer = new PodSyncer({
      runtime: o.runtime,
      puller,
      recorder: this.recorder,
      pods: o.clientset.pods,
      probes: this.probes,
      clock: this.clock,
      metrics: this.metrics,
      dataDir: o.dataDir,
      hostIP: o.nodeIP ?? '',
      networkNotReady: () => o.network.notReady(),
      sysctls: newSysctlAllowlist(o.allowedUnsafeSysctls ?? []),
      objects: cachedObjectGetter(o.clientset, this.clock, o.objectTtlMs),
      services: () => this.services.store.list(),
      activePods: () => this.informer.store.list(),
      memoryMedium: ensureTmpfs,
      userNamespaces: userNamespaceAllocator(o.dataDir, this.log),
      overlays: { isMounted: isMountPoint, mount: ensureReadOnlyOverlay },
      nodeAllocatable: {
        cpuMilli: parseQuantity(alloc['cpu'] ?? '0').milliValue(),
        memoryBytes: parseQuantity(alloc['memory'] ?? '0').value(),
      },
      dns: () => ({
        clusterDNS: o.clusterDNS ? [o.clusterDNS] : [],
        clusterDomain: o.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN,
        host: readNodeResolvConf(o.resolvConf ?? '/etc/resolv.conf', this.log),
      }),
      log: this.log,
    });
    this.workers = new PodWorkers((uid) => this.syncUid(uid), {
      clock: this.clock,
      onError: (uid, err) => {
        if (err instanceof KubeletStoppingError) return;
        this.log(`pod ${this.describe(uid)}: sync failed: ${errorMessage(err)}`);
      },
    });
    this.reporter = new NodeStatusReporter({
      nodes: o.clientset.nodes,
      machine,
      config: {
        nodeName: o.nodeName,
        nodeIP: o.nodeIP ?? '',
        maxPods: o.maxPods ?? 110,
        systemReserved: o.systemReserved ?? {},
        podCIDR: o.podCIDR ?? '',
        runtimeVersion: RUNTIME_VERSION,
        // Node.status.daemonEndpoints: the kubelet's port (10250) where it is served, as Prometheus' node role reads it.
        kubeletPort: portOf(o.port?.address ?? o.httpAddress),
      },
      clock: this.clock,
      intervalMs: o.nodeStatusUpdateFrequencyMs ?? 10_000,
      reportFrequencyMs: o.nodeStatusReportFrequencyMs ?? DEFAULT_NODE_STATUS_REPORT_FREQUENCY_MS,
      notReady: () => this.notReady(),
      onNode: (node) => {
        this.node = node;
        this.onNode(node.spec?.podCIDR ?? '');
      },
      cached: () => (this.nodeInformer.hasSynced() ? this.nodeInformer.store.get(o.nodeName) : undefined),
      onUpdated: () => this.metrics.nodeStatusUpdates.set(this.clock.now() / 1000),
      onReadyChange: (node, ready) => {
        const what = ready ? 'NodeReady' : 'NodeNotReady';
        this.recorder.event(this.nodeRef(node), 'Normal', what, `Node ${o.nodeName} status is now: ${what}`);
      },
      log: this.log,
    });
    this.lease = new NodeLeaseController({
      leases: o.clientset.leases,
      nodeName: o.nodeName,
      durationSeconds: o.nodeLeaseDurationSeconds ?? DEFAULT_NODE_LEASE_DURATION_SECONDS,
      clock: this.clock,
      node: () => this.node,
      onRenewed: () => this.metrics.nodeLeaseRenewals.set(this.clock.now() / 1000),
      log: this.log,
    });
  }

  get nodeName(): string {
    return this.o.nodeName;
  }

  /** Kubernetes' reference to a node in its events: the UID is the node's name. */
  private nodeRef(node: Node): ReturnType<typeof referenceTo> {
    return { ...referenceTo('Node', node), uid: this.o.nodeName, namespace: '' };
  }

  private describe(uid: string): string {
    return this.keys.get(uid) ?? uid;
  }

  private notReady(): string | undefined {
    if (this.relistError !== undefined) return `container runtime is down: ${this.relistError}`;
    return this.o.network.notReady();
  }

  private onNode(podCIDR: string): void {
    const before = this.o.network.notReady();
    try {
      this.o.network.setPodCIDR(podCIDR);
    } catch (err) {
      this.log(errorMessage(err));
    }
    if (before !== undefined && this.o.network.notReady() === undefined) {
      this.log(`node podCIDR is ${podCIDR}: pod network ready`);
      for (const uid of this.keys.keys()) this.workers.enqueue(uid);
      this.reporter.poke();
    }
  }

  async start(): Promise<void> {
    const node = await this.registerWithRetry();
    this.recorder.event(this.nodeRef(node), 'Normal', 'Starting', 'Starting kubelet.');
    this.node = node;
    this.onNode(node.spec?.podCIDR ?? '');
    // Before any pod worker runs: nothing else touches the sandboxes yet.
    await this.stopSandboxesWithoutNetwork();
    this.reporter.start();
    this.lease.start();
    this.informer.addEventHandler({
      onAdd: (p) => this.track(p),
      onUpdate: (_, p) => {
        // The echo of the kubelet's own status write changes nothing it has not acted on: no second sync per
        // write (Kubernetes' pod config sends status-only changes as a reconcile, not an update, for the same reason).
        if (this.syncer.isOwnStatusWrite(p)) return;
        this.track(p);
      },
      onDelete: (p) => {
        const uid = uidOf(p);
        this.keys.delete(uid);
        this.lastKnown.set(uid, p);
        this.workers.enqueue(uid);
      },
    });
    this.factory.start();
    // Containers get the Service variables of what exists when they start: the list must be complete first.
    await Promise.all([this.informer.waitForSync(), this.services.waitForSync()]);
    // Only now is "not in the API" trustworthy: the first relist may clean up orphans.
    await this.relist(true);
    await this.collectNetworkGarbage();
    // The reverse tunnel for logs and exec through the API server (the API server never dials a node).
    this.tunnel = new TunnelClient({ connection: this.o.clientset.connection, nodeName: this.o.nodeName, runtime: this.o.runtime, log: this.log });
    this.tunnel.start();
    this.every('relist', this.o.relistPeriodMs ?? 1000, () => this.relist(false));
    this.every('housekeeping', this.o.resyncPeriodMs ?? 10_000, () => this.housekeeping());
    if (this.o.httpAddress !== undefined) {
      if (needsHttps(this.o.httpAddress, '--http-address') && this.o.httpTls === undefined) {
        throw new Error(
          `--http-address ${this.o.httpAddress} is beyond loopback: it is served over HTTPS only, and the kubelet was given no serving certificate`,
        );
      }
      this.server = await listenHealthServer(
        this.o.httpAddress,
        {
          registry: this.metrics.registry,
          checkReady: async () => {
            const why = this.notReady();
            if (why !== undefined) throw new Error(why);
          },
        },
        'the kubelet',
        this.o.httpTls,
      );
      this.httpAddress = this.server.address;
    }
    if (this.o.port !== undefined) await this.servePort(this.o.port);
    this.log(`started on node ${this.o.nodeName}`);
  }

  /** Registers the Node, waiting for an API server that is not up yet (as the kubelet does). */
  private async registerWithRetry(): Promise<Node> {
    const backoff = new Backoff({ initialMs: 500, maxMs: 10_000 });
    for (;;) {
      try {
        return await this.reporter.register();
      } catch (err) {
        // An unreachable server, or one too busy to answer in time (a
        // thousand nodes registering at once): the kubelet keeps trying, as
        // Kubernetes' does. Refusals (Forbidden, Invalid) end the start.
        if (!(err instanceof UnavailableError || (err instanceof ApiError && err.reason === 'Timeout')) || this.stopping) throw err;
        const delay = backoff.next();
        this.log(`unable to register node ${this.o.nodeName} with the API server: ${err.message}; retrying in ${delay / 1000}s`);
        await new Promise<void>((resolve) => this.clock.setTimeout(resolve, delay));
      }
    }
  }

  private track(p: Pod): void {
    const uid = uidOf(p);
    this.keys.set(uid, `${p.metadata?.namespace ?? ''}/${p.metadata?.name ?? ''}`);
    this.workers.enqueue(uid);
  }

  /** Runs fn every ms (after the previous run finished). */
  private every(name: string, ms: number, fn: () => Promise<void>): void {
    const tick = (): void => {
      this.timers.delete(name);
      if (this.stopping) return;
      void fn().finally(() => {
        if (!this.stopping) this.timers.set(name, this.clock.setTimeout(tick, ms));
      });
    };
    this.timers.set(name, this.clock.setTimeout(tick, ms));
  }

  private async syncUid(uid: string): Promise<number | undefined> {
    const started = this.clock.now();
    const key = this.keys.get(uid);
    const pod = key !== undefined ? this.informer.store.get(key) : undefined;
    let op = 'sync';
    try {
      if (!pod || uidOf(pod) !== uid) {
        op = 'cleanup';
        await this.syncer.cleanupOrphan(uid, this.lastKnown.get(uid));
        this.lastKnown.delete(uid);
        return undefined;
      }
      if (pod.metadata?.deletionTimestamp) {
        op = 'terminate';
        await this.syncer.terminatePod(pod);
        return undefined;
      }
      return await this.syncer.syncPod(pod);
    } finally {
      this.metrics.podWorkerDuration.observe({ operation: op }, (this.clock.now() - started) / 1000);
    }
  }

  /** PLEG: reads the runtime; a pod whose containers changed (or that the API no longer has) gets a sync. */
  private relist(initial: boolean): Promise<void> {
    this.relisting ??= (async () => {
      let states: Map<string, PodRuntimeState>;
      try {
        states = await readRuntimeState(this.o.runtime);
      } catch (err) {
        const first = this.relistError === undefined;
        this.relistError = errorMessage(err);
        if (first) {
          this.log(`runtime relist failed: ${this.relistError}`);
          this.reporter.poke();
        }
        return;
      }
      if (this.relistError !== undefined) {
        this.relistError = undefined;
        this.reporter.poke();
      }
      const next = new Map<string, string>();
      let runningPods = 0;
      const counts: Record<string, number> = { running: 0, created: 0, exited: 0, unknown: 0 };
      for (const [uid, st] of states) {
        const fp = fingerprint(st);
        next.set(uid, fp);
        if (initial || this.fingerprints.get(uid) !== fp || !this.keys.has(uid)) this.workers.enqueue(uid);
        if (st.sandboxes.some((s) => s.state === 'ready')) runningPods++;
        for (const c of st.containers) counts[c.state] = (counts[c.state] ?? 0) + 1;
      }
      // A pod whose runtime state vanished (removed by someone else) is synced too.
      for (const uid of this.fingerprints.keys()) if (!next.has(uid)) this.workers.enqueue(uid);
      this.fingerprints = next;
      this.metrics.runningPods.set(runningPods);
      for (const [state, n] of Object.entries(counts)) this.metrics.runningContainers.set({ container_state: state }, n);
    })().finally(() => {
      this.relisting = undefined;
    });
    return this.relisting;
  }

  /**
   * Stops the ready sandboxes whose network is gone (veth deleted while the
   * kubelet was down, address lost): stopped, they are recreated by their
   * pod's next sync with a "SandboxChanged" event, as Kubernetes' kubelet
   * recreates a sandbox whose network is not what it should be.
   */
  private async stopSandboxesWithoutNetwork(): Promise<void> {
    try {
      const wired = (await this.o.runtime.listSandboxes()).filter((s) => s.state === 'ready' && s.ips.length > 0);
      for (const id of await this.o.network.lost(wired.map((s) => s.id))) {
        const s = wired.find((x) => x.id === id);
        this.log(`pod ${s?.namespace ?? ''}/${s?.name ?? ''}: the network of sandbox ${id.slice(0, 12)} is gone; stopping it to be re-created`);
        await this.o.runtime.stopSandbox(id);
      }
    } catch (err) {
      this.log(`checking the pods' sandbox networks failed: ${errorMessage(err)}`);
    }
  }

  /** Frees pod addresses of sandboxes that are gone (removed while the kubelet was down). */
  private async collectNetworkGarbage(): Promise<void> {
    try {
      const freed = await this.o.network.garbageCollect(async () => (await this.o.runtime.listSandboxes()).map((s) => s.id));
      if (freed.length > 0) this.log(`pod network: freed ${freed.length} address(es) of sandboxes that no longer exist: ${freed.join(', ')}`);
    } catch (err) {
      this.log(`pod network garbage collection failed: ${errorMessage(err)}`);
    }
  }

  /** Periodic resync of every pod, and removal of pod directories and addresses nothing owns. */
  private async housekeeping(): Promise<void> {
    for (const uid of this.keys.keys()) this.workers.enqueue(uid);
    await this.collectNetworkGarbage();
    for (const uid of listPodDirs(this.o.dataDir)) {
      if (this.keys.has(uid) || this.fingerprints.has(uid) || this.workers.busy(uid)) continue;
      try {
        removePodDir(this.o.dataDir, uid);
        this.log(`removed the directory of pod ${uid}, which no longer exists`);
      } catch (err) {
        this.log(`removing the directory of pod ${uid}: ${errorMessage(err)}`);
      }
    }
  }

  /** The kubelet's authenticated port: its own metrics, the containers' (collected on each scrape), /healthz. */
  private async servePort(port: NonNullable<KubeletOptions['port']>): Promise<void> {
    const collector = new CadvisorCollector(
      {
        runtime: this.o.runtime,
        paths: port.cadvisor,
        labels: { podUid: LABEL_POD_UID, containerName: LABEL_CONTAINER_NAME },
        now: () => new Date(this.clock.now()),
      },
      this.log,
    );
    this.portServer = await listenKubeletServer(
      port.address,
      { nodeName: this.o.nodeName, registry: this.metrics.registry, cadvisor: () => collector.cadvisorText(), resource: () => collector.resourceText() },
      port.tls,
    );
    this.portAddress = this.portServer.address;
  }

  setHttpTls(tls: HealthTls): void {
    if (this.server?.scheme === 'https') this.server.setTls(tls);
    this.portServer?.setTls(tls);
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const t of this.timers.values()) this.clock.clearTimeout(t);
      this.tunnel?.stop();
      this.probes.stop();
      await this.relisting;
      // Containers being stopped keep their grace period in the runtime; the next start resumes what was cut short.
      this.syncer.abortWaits();
      await this.workers.stop();
      await this.reporter.stop();
      await this.lease.stop();
      if (this.ownInformers) await this.factory.stop();
      await this.recorder.stop();
      await this.server?.close();
      await this.portServer?.close();
    })();
    return this.stopping;
  }
}

/** The allocator of pods' user-namespace ranges over the node's range; a bad /etc/subuid leaves those pods failing with its error, the others run. */
function userNamespaceAllocator(dataDir: string, log: (line: string) => void): UserNamespaceAllocator | { error: string } {
  let max: string | undefined;
  try {
    max = fs.readFileSync('/proc/sys/user/max_user_namespaces', 'utf8');
  } catch {
    max = undefined;
  }
  const problem = userNamespaceSupportProblem(os.release(), max);
  if (problem !== undefined) {
    log(`user namespaces (hostUsers: false) are not available: ${problem}`);
    return { error: `this node does not support them: ${problem}` };
  }
  try {
    return new UserNamespaceAllocator(path.join(dataDir, 'pods'), readNodeRange());
  } catch (err) {
    log(`user namespaces (hostUsers: false) are not available: ${errorMessage(err)}`);
    return { error: errorMessage(err) };
  }
}

function portOf(address: string | undefined): number {
  const m = /:(\d+)$/.exec(address ?? '');
  return m ? Number(m[1]) : 0;
}

/**
 * Starts a kubelet for `nodeName`: resolves once the Node is registered, the
 * pods of the node are listed and the runtime's state reconciled. The
 * runtime must have been built with `network.hook`.
 */
export async function startKubelet(opts: KubeletOptions): Promise<RunningKubelet> {
  const k = new Kubelet(opts);
  try {
    await k.start();
  } catch (err) {
    await k.stop();
    throw err;
  }
  return k;
}
