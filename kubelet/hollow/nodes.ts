// A set of hollow nodes in one process (Kubernetes' kubemark): each is the
// real kubelet (registration, status and Lease heartbeats at their real
// intervals, pod workers, status manager, relist) over HollowRuntime,
// HollowImages and HollowNetwork. They share one connection and one
// informer factory, so cluster-wide caches (Services) are held once while
// each node still watches its own pods.

import { mkdir } from 'node:fs/promises';
import * as path from 'node:path';
import { SharedInformerFactory, type Clientset } from '../../client';
import { errorMessage } from '../../util/errors';
import { startKubelet, type RunningKubelet } from '../kubelet';
import type { MachineInfo } from '../node-status';
import { HollowImages } from './images';
import { HollowNetwork } from './network';
import { HollowRuntime } from './runtime';

export interface HollowNodesOptions {
  clientset: Clientset;
  count: number;
  /** Node names are PREFIX0, PREFIX1, ... */
  namePrefix: string;
  /** Each node's kubelet state goes to DATA-DIR/NAME. */
  dataDir: string;
  maxPods: number;
  /** What every hollow node reports as its machine. */
  machine: MachineInfo;
  nodeStatusUpdateFrequencyMs?: number;
  nodeLeaseDurationSeconds?: number;
  /** How many nodes register at once. */
  startConcurrency: number;
  /** Called after each node has started, with how many have. */
  onStarted?: (started: number) => void;
  log: (line: string) => void;
}

export interface HollowNodes {
  readonly kubelets: readonly RunningKubelet[];
  stop(): Promise<void>;
}

/** The machine a hollow node claims (kubemark's defaults are of this size). */
export function hollowMachine(cpus: number, memoryKi: number): MachineInfo {
  return { cpus, memoryKi, kernelVersion: 'hollow', osImage: 'tsk hollow node', architecture: 'amd64', machineID: 'hollow', bootID: 'hollow' };
}

async function startOne(o: HollowNodesOptions, informers: SharedInformerFactory, i: number): Promise<RunningKubelet> {
  const nodeName = `${o.namePrefix}${i}`;
  const dataDir = path.join(o.dataDir, nodeName);
  await mkdir(dataDir, { recursive: true });
  const network = new HollowNetwork();
  return startKubelet({
    clientset: o.clientset,
    informers,
    runtime: new HollowRuntime(network, `${i.toString(16)}-`),
    images: new HollowImages(),
    network,
    nodeName,
    dataDir,
    maxPods: o.maxPods,
    machine: o.machine,
    // No host resolv.conf: a hollow pod resolves nothing.
    resolvConf: '',
    ...(o.nodeStatusUpdateFrequencyMs !== undefined ? { nodeStatusUpdateFrequencyMs: o.nodeStatusUpdateFrequencyMs } : {}),
    ...(o.nodeLeaseDurationSeconds !== undefined ? { nodeLeaseDurationSeconds: o.nodeLeaseDurationSeconds } : {}),
    log: (line) => o.log(`${nodeName}: ${line}`),
  });
}

/** Starts `count` hollow nodes, `startConcurrency` at a time; on a failure stops those started and throws. */
export async function startHollowNodes(o: HollowNodesOptions): Promise<HollowNodes> {
  const informers = new SharedInformerFactory(o.clientset, { onError: (err, ctx) => o.log(`informer: ${ctx}: ${errorMessage(err)}`) });
  const kubelets: RunningKubelet[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(kubelets.map((k) => k.stop()));
    await informers.stop();
  };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < o.count) {
      const i = next++;
      kubelets.push(await startOne(o, informers, i));
      o.onStarted?.(kubelets.length);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(o.startConcurrency, o.count) }, worker));
  } catch (err) {
    next = o.count;
    await stop();
    throw err;
  }
  return { kubelets, stop };
}
