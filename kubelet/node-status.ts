// The kubelet's Node: registration (create, or adopt an existing Node of
// the same name) and the status it posts every --node-status-update-frequency
// (Kubernetes' kubelet_node_status.go and nodestatus setters): capacity and
// allocatable, addresses, nodeInfo, and the conditions, whose
// lastHeartbeatTime moves with every post and lastTransitionTime only when
// the status changes. As in Kubernetes, a status computed every
// --node-status-update-frequency is posted only when it changed or when
// --node-status-report-frequency has passed: liveness is the node's Lease
// (node-lease.ts). The builders are pure; NodeStatusReporter does the I/O.

import * as fs from 'node:fs';
import * as os from 'node:os';
import { AlreadyExistsError, ConflictError, NotFoundError } from '../api/errors';
import type { Node, NodeCondition, NodeStatus, NodeSystemInfo } from '../api/gen/tsk/v1/core';
import { encodeJson } from '../api/codec';
import { parseQuantity } from '../api/quantity';
import type { Clock, ResourceClient, TimerHandle } from '../client';
import { readTextOr } from '../util/files';
import { rfc3339 } from '../util/time';
import { jitteredMs } from '../util/backoff';
import { errorMessage } from '../util/errors';

export const KUBELET_VERSION = 'v0.1.0-tsk';

/** What the machine is: read once at start (readMachineInfo), injected in tests. */
export interface MachineInfo {
  cpus: number;
  memoryKi: number;
  kernelVersion: string;
  osImage: string;
  architecture: string;
  machineID: string;
  bootID: string;
}

export interface NodeConfig {
  nodeName: string;
  nodeIP: string;
  maxPods: number;
  /** "cpu=100m,memory=1Gi" parsed: resource -> quantity. */
  systemReserved: Record<string, string>;
  podCIDR: string;
  runtimeVersion: string;
  kubeletPort: number;
}

/** Go's GOARCH names, as kubernetes.io/arch uses them. */
export function goArch(nodeArch: string): string {
  const map: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return map[nodeArch] ?? nodeArch;
}

/** MemTotal of /proc/meminfo in KiB. */
export function memTotalKi(meminfo: string): number {
  const m = /^MemTotal:\s+(\d+)\s+kB$/m.exec(meminfo);
  if (!m) throw new Error('/proc/meminfo has no MemTotal line');
  return Number(m[1]);
}

/** PRETTY_NAME of /etc/os-release. */
export function osImage(osRelease: string): string {
  const m = /^PRETTY_NAME=(.*)$/m.exec(osRelease);
  return (m?.[1] ?? 'Linux').replace(/^"(.*)"$/, '$1');
}

export function readMachineInfo(): MachineInfo {
  return {
    cpus: os.cpus().length,
    memoryKi: memTotalKi(fs.readFileSync('/proc/meminfo', 'utf8')),
    kernelVersion: os.release(),
    osImage: osImage(readTextOr('/etc/os-release').trim()),
    architecture: goArch(os.arch()),
    machineID: readTextOr('/etc/machine-id').trim(),
    bootID: readTextOr('/proc/sys/kernel/random/boot_id').trim(),
  };
}

/** "cpu=100m,memory=1Gi" -> { cpu: '100m', memory: '1Gi' }; throws naming the bad entry. */
export function parseReserved(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')) {
    const [k, v] = part.split('=');
    if (!k || v === undefined || !['cpu', 'memory', 'pods', 'ephemeral-storage'].includes(k)) {
      throw new Error(`"${part}" is not RESOURCE=QUANTITY with RESOURCE cpu, memory, pods or ephemeral-storage`);
    }
    try {
      parseQuantity(v);
    } catch (err) {
      throw new Error(`"${part}": ${errorMessage(err)}`, { cause: err });
    }
    out[k] = v;
  }
  return out;
}

export function capacity(m: MachineInfo, cfg: NodeConfig): Record<string, string> {
  return { cpu: String(m.cpus), memory: `${m.memoryKi}Ki`, pods: String(cfg.maxPods) };
}

/** Capacity minus --system-reserved, never below zero. */
export function allocatable(cap: Record<string, string>, reserved: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(cap)) {
    const r = reserved[k];
    if (r === undefined) {
      out[k] = v;
      continue;
    }
    const left = parseQuantity(v).sub(parseQuantity(r));
    out[k] = left.sign() < 0 ? '0' : left.toString();
  }
  return out;
}

export function nodeInfo(m: MachineInfo, cfg: NodeConfig): NodeSystemInfo {
  return {
    machineID: m.machineID,
    systemUUID: m.machineID,
    bootID: m.bootID,
    kernelVersion: m.kernelVersion,
    osImage: m.osImage,
    containerRuntimeVersion: cfg.runtimeVersion,
    kubeletVersion: KUBELET_VERSION,
    kubeProxyVersion: '',
    operatingSystem: 'linux',
    architecture: m.architecture,
  };
}

/** The Node the kubelet registers. */
export function initialNode(m: MachineInfo, cfg: NodeConfig): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: cfg.nodeName,
      // The node's name is the hostname (or --hostname-override), as Kubernetes labels it.
      labels: { 'kubernetes.io/hostname': cfg.nodeName, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': m.architecture },
    },
    spec: cfg.podCIDR ? { podCIDR: cfg.podCIDR, podCIDRs: [cfg.podCIDR] } : {},
  };
}

export interface Readiness {
  ready: boolean;
  reason: string;
  message: string;
}

function cond(old: NodeCondition[] | undefined, now: string, type: string, status: string, reason: string, message: string): NodeCondition {
  const prev = old?.find((c) => c.type === type);
  const since = prev?.status === status && prev.lastTransitionTime ? prev.lastTransitionTime : now;
  return { type, status, lastHeartbeatTime: now, lastTransitionTime: since, reason, message };
}

/** The status the kubelet posts: the machine's figures and the conditions at `now`. */
export function nodeStatus(m: MachineInfo, cfg: NodeConfig, old: NodeStatus | undefined, readiness: Readiness, nowMs: number): NodeStatus {
  const now = rfc3339(nowMs);
  const prev = old?.conditions;
  const cap = capacity(m, cfg);
  return {
    capacity: cap,
    allocatable: allocatable(cap, cfg.systemReserved),
    conditions: [
      cond(prev, now, 'MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
      cond(prev, now, 'DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
      cond(prev, now, 'PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
      cond(prev, now, 'Ready', readiness.ready ? 'True' : 'False', readiness.reason, readiness.message),
    ],
    addresses: [...(cfg.nodeIP ? [{ type: 'InternalIP', address: cfg.nodeIP }] : []), { type: 'Hostname', address: cfg.nodeName }],
    daemonEndpoints: { kubeletEndpoint: { port: cfg.kubeletPort } },
    nodeInfo: nodeInfo(m, cfg),
  };
}

/** The kubelet's wait.JitterUntil factor on its status loop (syncNodeStatus), as its Lease's. */
const STATUS_JITTER = 0.04;

/** The condition types the kubelet sets; others (NetworkUnavailable, set by a network plugin) are kept as stored. */
const KUBELET_CONDITIONS = new Set(['MemoryPressure', 'DiskPressure', 'PIDPressure', 'Ready']);

/** `status` with the stored conditions of types the kubelet does not set (a strategic merge by type, as Kubernetes' status patch). */
export function withForeignConditions(status: NodeStatus, stored: NodeStatus | undefined): NodeStatus {
  const foreign = (stored?.conditions ?? []).filter((c) => !KUBELET_CONDITIONS.has(c.type ?? ''));
  return foreign.length === 0 ? status : { ...status, conditions: [...(status.conditions ?? []), ...foreign] };
}

/** The kubelet's default nodeStatusReportFrequency. */
export const DEFAULT_NODE_STATUS_REPORT_FREQUENCY_MS = 5 * 60_000;

/**
 * The status without what moves at every computation (Kubernetes'
 * nodeStatusHasChanged ignores heartbeat times), in its Kubernetes JSON form
 * so that zero values read back from the API compare equal to absent ones.
 */
function withoutHeartbeats(status: NodeStatus | undefined): string {
  const conditions = (status?.conditions ?? []).map((c) => ({ ...c, lastHeartbeatTime: '' }));
  return JSON.stringify(encodeJson('tsk.v1.NodeStatus', { ...status, conditions }));
}

/** Whether `next` says anything `prev` did not, heartbeat times aside. */
export function nodeStatusChanged(prev: NodeStatus | undefined, next: NodeStatus): boolean {
  return withoutHeartbeats(prev) !== withoutHeartbeats(next);
}

export interface NodeStatusReporterOptions {
  nodes: ResourceClient<Node>;
  machine: MachineInfo;
  config: NodeConfig;
  clock: Clock;
  intervalMs: number;
  /** Post an unchanged status only this long after the last post; undefined: post at every interval. */
  reportFrequencyMs?: number;
  /** Why the node is not ready (runtime or network), or undefined when it is. */
  notReady: () => string | undefined;
  /** The node's podCIDR as the API has it (after every read). */
  onNode: (node: Node) => void;
  /**
   * The node informer's copy of this Node (the kubelet's node lister), or
   * undefined when it has none: each post then starts from it (or from this
   * reporter's last write when newer) instead of reading the API, as
   * Kubernetes' kubelet reads its node from the API server's cache. Absent:
   * every post reads the Node first.
   */
  cached?: () => Node | undefined;
  onUpdated?: () => void;
  /** A number in [0, 1) for the interval's jitter; default Math.random. */
  random?: () => number;
  /** The Ready condition changed (or was posted for the first time). */
  onReadyChange?: (node: Node, ready: boolean) => void;
  log: (line: string) => void;
}

/** Registers the Node and posts its status periodically. */
export class NodeStatusReporter {
  private timer: TimerHandle | undefined;
  private stopped = false;
  private running: Promise<void> | undefined;
  /** When (clock ms) this reporter last posted; undefined before its first post. */
  private lastPostedMs: number | undefined;
  /** What this reporter's last status write returned. */
  private lastWritten: Node | undefined;

  constructor(private readonly o: NodeStatusReporterOptions) {}

  /** An unchanged status is skipped until the report frequency has passed since the last post. */
  private due(cur: Node, status: NodeStatus, nowMs: number): boolean {
    const every = this.o.reportFrequencyMs;
    if (every === undefined || this.lastPostedMs === undefined) return true;
    return nowMs - this.lastPostedMs >= every || nodeStatusChanged(cur.status, status);
  }

  /** Creates the Node, or adopts an existing one (labels merged, podCIDR set from --pod-cidr if empty). */
  async register(): Promise<Node> {
    const { nodes, machine, config } = this.o;
    const want = initialNode(machine, config);
    try {
      const node = await nodes.create(want);
      this.o.log(`registered node ${config.nodeName}`);
      return node;
    } catch (err) {
      if (!(err instanceof AlreadyExistsError)) throw err;
    }
    for (let attempt = 0; ; attempt++) {
      const cur = await nodes.get(config.nodeName);
      const labels = { ...cur.metadata?.labels, ...want.metadata?.labels };
      const needCidr = config.podCIDR !== '' && !cur.spec?.podCIDR;
      const sameLabels = Object.entries(labels).every(([k, v]) => cur.metadata?.labels?.[k] === v);
      if (sameLabels && !needCidr) {
        this.o.log(`node ${config.nodeName} already registered: adopted`);
        return cur;
      }
      try {
        const spec = needCidr ? { ...cur.spec, podCIDR: config.podCIDR, podCIDRs: [config.podCIDR] } : cur.spec;
        const node = await nodes.update({ ...cur, metadata: { ...cur.metadata, labels }, spec });
        this.o.log(`node ${config.nodeName} already registered: adopted and updated`);
        return node;
      } catch (err) {
        if (!(err instanceof ConflictError) || attempt >= 5) throw err;
      }
    }
  }

  /** The newest copy of the Node without a read: the informer's, or the last write's when newer. */
  private known(): Node | undefined {
    const cached = this.o.cached?.();
    if (!cached) return undefined;
    const rv = (n: Node | undefined): number => Number(n?.metadata?.resourceVersion || NaN);
    return rv(this.lastWritten) > rv(cached) && this.lastWritten?.metadata?.uid === cached.metadata?.uid ? this.lastWritten : cached;
  }

  /** Posts the status now (from the cached Node, or get; then updateStatus, retried on conflicts after a get). */
  async update(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      let cur: Node;
      try {
        cur = (attempt === 0 ? this.known() : undefined) ?? (await this.o.nodes.get(this.o.config.nodeName));
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
        // Deleted behind our back (tsctl delete node): register again, as the kubelet does.
        this.o.log(`node ${this.o.config.nodeName} was deleted from the API: registering it again`);
        cur = await this.register();
      }
      this.o.onNode(cur);
      const why = this.o.notReady();
      const readiness: Readiness =
        why === undefined
          ? { ready: true, reason: 'KubeletReady', message: 'kubelet is posting ready status' }
          : { ready: false, reason: 'KubeletNotReady', message: why };
      const nowMs = this.o.clock.now();
      const status = withForeignConditions(nodeStatus(this.o.machine, this.o.config, cur.status, readiness, nowMs), cur.status);
      if (!this.due(cur, status, nowMs)) return;
      try {
        // Without a resourceVersion: the status is the kubelet's to write, as
        // Kubernetes' kubelet PATCHes it. A compare on the Node's version lost
        // to every spec write of the controllers (podCIDR, taints) and cost
        // a read and a second post each time (5,338 conflicts at 5,000 nodes).
        // The UID still guards against writing over a re-created Node.
        const written = await this.o.nodes.updateStatus({ ...cur, metadata: { ...cur.metadata, resourceVersion: '' }, status });
        this.lastWritten = written;
        this.lastPostedMs = nowMs;
        this.o.onNode(written);
        this.o.onUpdated?.();
        const was = cur.status?.conditions?.find((c) => c.type === 'Ready')?.status;
        if (was !== (readiness.ready ? 'True' : 'False')) this.o.onReadyChange?.(written, readiness.ready);
        return;
      } catch (err) {
        if (!(err instanceof ConflictError) || attempt >= 5) throw err;
      }
    }
  }

  /** Posts now and then every intervalMs; failures are logged and retried at the next tick. */
  start(): void {
    const tick = (): void => {
      if (this.stopped) return;
      this.running = this.update()
        .catch((err: unknown) => this.o.log(`node status update failed: ${errorMessage(err)}`))
        .finally(() => {
          this.running = undefined;
          if (!this.stopped) this.timer = this.o.clock.setTimeout(tick, jitteredMs(this.o.intervalMs, STATUS_JITTER, this.o.random));
        });
    };
    tick();
  }

  /** Posts at once (readiness changed), without waiting for the next tick. */
  poke(): void {
    if (this.stopped || this.running) return;
    if (this.timer) this.o.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) this.o.clock.clearTimeout(this.timer);
    await this.running;
  }
}
