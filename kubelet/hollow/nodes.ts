// A set of hollow nodes in one process (Kubernetes' kubemark): each is the
// real kubelet (registration, status and Lease heartbeats at their real
// intervals, pod workers, status manager, relist) over HollowRuntime,
// HollowImages and HollowNetwork, plus what the caller starts beside it
// (`tsk hollow-nodes` adds a proxy). They share one connection and one
// informer factory, so cluster-wide caches (Services) are held once while
// each node still watches its own pods. Node i reports the InternalIP
// 198.18.X.Y (RFC 2544's benchmarking range): an address nothing sends to.

import { mkdir } from 'node:fs/promises';
import * as path from 'node:path';
import type { Clientset, SharedInformerFactory } from '../../client';
import { formatIPv4, parseIPv4 } from '../../util/ipv4';
import { startKubelet, type RunningKubelet } from '../kubelet';
import type { MachineInfo } from '../node-status';
import { HollowImages } from './images';
import { HollowNetwork } from './network';
import { HollowRuntime } from './runtime';

/** Something started beside a hollow node's kubelet (its proxy), stopped with it. */
export interface HollowCompanion {
  stop(): Promise<void>;
}

export interface HollowNodesOptions {
  clientset: Clientset;
  /**
   * Node i makes its own calls (registration, status, Leases, pod status,
   * events) through clientsets[i % length] when given, else through
   * clientset: kubemark's hollow nodes each have their own connection.
   */
  clientsets?: readonly Clientset[];
  /** Node i's own clientset (its own identity), before clientsets; undefined falls back to them. */
  clientsetFor?: (nodeName: string, index: number) => Clientset | undefined;
  /** Shared by every node; the caller starts and stops it. */
  informers: SharedInformerFactory;
  count: number;
  /** Node names are PREFIX0, PREFIX1, ... */
  namePrefix: string;
  /**
   * The first node's index (default 0): nodes firstIndex..firstIndex+count-1,
   * so processes given disjoint ranges run disjoint nodes (names, InternalIPs,
   * runtime ids).
   */
  firstIndex?: number;
  /** Each node's kubelet state goes to DATA-DIR/NAME. */
  dataDir: string;
  maxPods: number;
  /** What every hollow node reports as its machine. */
  machine: MachineInfo;
  nodeStatusUpdateFrequencyMs?: number;
  nodeLeaseDurationSeconds?: number;
  /** How many nodes register at once. */
  startConcurrency: number;
  /** The cluster DNS every node's ClusterFirst pods get, as real kubelets read it from the kube-dns Service; undefined: none. */
  clusterDns?: { readonly ip: string; readonly domain: string };
  /** Started after each node's kubelet, with the node's name and InternalIP. */
  companion?: (nodeName: string, nodeIP: string) => Promise<HollowCompanion>;
  /** Called after each node has started, with how many have. */
  onStarted?: (started: number) => void;
  log: (line: string) => void;
}

export interface HollowNodes {
  readonly kubelets: readonly RunningKubelet[];
  readonly companions: readonly HollowCompanion[];
  stop(): Promise<void>;
}

/** The machine a hollow node claims (kubemark's defaults are of this size). */
export function hollowMachine(cpus: number, memoryKi: number): MachineInfo {
  return { cpus, memoryKi, kernelVersion: 'hollow', osImage: 'tsk hollow node', architecture: 'amd64', machineID: 'hollow', bootID: 'hollow' };
}

const FIRST_NODE_IP = parseIPv4('198.18.0.1') ?? 0;

/** How many hollow nodes have an InternalIP of their own: 198.18.0.0/15 but its first and last address. */
export const HOLLOW_NODE_IPS = 131_070;

/** The InternalIP of hollow node i (198.18.0.1 onwards, HOLLOW_NODE_IPS of them). */
export function hollowNodeIP(i: number): string {
  return formatIPv4(FIRST_NODE_IP + i);
}

async function startOne(o: HollowNodesOptions, i: number): Promise<RunningKubelet> {
  const nodeName = `${o.namePrefix}${i}`;
  const dataDir = path.join(o.dataDir, nodeName);
  await mkdir(dataDir, { recursive: true });
  const network = new HollowNetwork();
  return startKubelet({
    clientset: o.clientsetFor?.(nodeName, i) ?? o.clientsets?.[i % o.clientsets.length] ?? o.clientset,
    informers: o.informers,
    runtime: new HollowRuntime(network, `${i.toString(16)}-`),
    images: new HollowImages(),
    network,
    nodeName,
    nodeIP: hollowNodeIP(i),
    dataDir,
    maxPods: o.maxPods,
    machine: o.machine,
    // No host resolv.conf: a hollow pod resolves nothing.
    resolvConf: '',
    ...(o.clusterDns ? { clusterDNS: o.clusterDns.ip, clusterDomain: o.clusterDns.domain } : {}),
    ...(o.nodeStatusUpdateFrequencyMs !== undefined ? { nodeStatusUpdateFrequencyMs: o.nodeStatusUpdateFrequencyMs } : {}),
    ...(o.nodeLeaseDurationSeconds !== undefined ? { nodeLeaseDurationSeconds: o.nodeLeaseDurationSeconds } : {}),
    log: (line) => o.log(`${nodeName}: ${line}`),
  });
}

/** Starts `count` hollow nodes, `startConcurrency` at a time; on a failure stops those started and throws. */
export async function startHollowNodes(o: HollowNodesOptions): Promise<HollowNodes> {
  const kubelets: RunningKubelet[] = [];
  const companions: HollowCompanion[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(companions.map((c) => c.stop()));
    await Promise.all(kubelets.map((k) => k.stop()));
  };
  const first = o.firstIndex ?? 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < o.count) {
      const i = first + next++;
      kubelets.push(await startOne(o, i));
      if (o.companion) companions.push(await o.companion(`${o.namePrefix}${i}`, hollowNodeIP(i)));
      o.onStarted?.(kubelets.length);
    }
  };
  const workers = Array.from({ length: Math.min(o.startConcurrency, o.count) }, () =>
    worker().catch((err: unknown) => {
      next = o.count;
      throw err;
    }),
  );
  // Every worker settles before the stop: one still starting a node when
  // another failed would add a kubelet after stop() had gone through them,
  // left running (its tunnel retrying) on a connection the caller then closes.
  const failed = (await Promise.allSettled(workers)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) {
    await stop();
    throw failed.reason;
  }
  return { kubelets, companions, stop };
}
