// Collects /metrics/cadvisor on each scrape (no loop of its own): every pod
// the runtime holds (its pod cgroup, container=""), and each of its running
// containers (its own cgroup), read from the cgroup files, the pod's network
// namespace and the containers' writable layers.

import * as fs from 'node:fs';
import type { ContainerRuntime, ContainerStatus, SandboxStatus } from '../runtime/runtime';
import { readCgroupStats, cgroupDirFiles, type CgroupVersion, type StatsController } from './cgroup-stats';
import { renderCadvisorMetrics, type ContainerSample } from './exposition';
import { deviceOf, diskUsage, DiskUsageCache } from './fs-usage';
import { parseNetDev, type InterfaceStats } from './net-dev';
import { renderResourceMetrics } from './resource-metrics';
import { errorMessage } from '../../util/errors';

/** Where the runtime keeps what cAdvisor reads. */
export interface CadvisorPaths {
  readonly cgroupVersion: CgroupVersion;
  /** A pod's cgroup, relative to the hierarchies' roots (tsk/pod<uid>). */
  podCgroup(podUid: string): string;
  containerCgroup(podUid: string, containerId: string): string;
  /** Absolute directory of cgroup rel in the controller's hierarchy. */
  cgroupDir(controller: StatsController, rel: string): string;
  /** The container's writable layer. */
  upperDir(containerId: string): string;
}

/** The labels the kubelet puts on sandboxes and containers (Kubernetes' io.kubernetes.*). */
export interface RuntimeLabelKeys {
  podUid: string;
  containerName: string;
}

export interface CollectorDeps {
  runtime: Pick<ContainerRuntime, 'listSandboxes' | 'listContainers'>;
  paths: CadvisorPaths;
  labels: RuntimeLabelKeys;
  now?: () => Date;
  /** /proc/self/mountinfo, for the `device` of container_fs_usage_bytes. */
  mountinfo?: () => string;
  /** The bytes under a container's writable layer; default diskUsage (CadvisorCollector: at most once per 10 s per layer). */
  diskUsage?: (dir: string) => Promise<number>;
}

function statsOf(paths: CadvisorPaths, rel: string): ContainerSample['stats'] {
  return readCgroupStats(
    paths.cgroupVersion,
    cgroupDirFiles((c) => paths.cgroupDir(c, rel)),
  );
}

/** The pod's network counters through a process in it (every container shares the sandbox's namespace); none without one. */
function networkOf(containers: readonly ContainerStatus[]): InterfaceStats[] {
  for (const c of containers) {
    if (c.state !== 'running' || c.pid === undefined) continue;
    try {
      return parseNetDev(fs.readFileSync(`/proc/${c.pid}/net/dev`, 'utf8'));
    } catch {
      // Exited since it was listed: try the next one.
    }
  }
  return [];
}

const seconds = (d: Date | undefined): number | undefined => (d === undefined ? undefined : d.getTime() / 1000);

function podSample(deps: CollectorDeps, uid: string, sb: SandboxStatus, containers: readonly ContainerStatus[]): ContainerSample {
  const rel = deps.paths.podCgroup(uid);
  return {
    labels: { id: `/${rel}`, name: '', image: '', container: '', pod: sb.name, namespace: sb.namespace },
    stats: statsOf(deps.paths, rel),
    ...(sb.createdAt ? { startTimeSeconds: seconds(sb.createdAt) } : {}),
    network: networkOf(containers),
  };
}

async function containerSample(deps: CollectorDeps, uid: string, sb: SandboxStatus, c: ContainerStatus, mountinfo: string): Promise<ContainerSample> {
  const rel = deps.paths.containerCgroup(uid, c.id);
  const upper = deps.paths.upperDir(c.id);
  const start = seconds(c.startedAt ?? c.createdAt);
  return {
    labels: { id: `/${rel}`, name: c.id, image: c.image, container: c.labels[deps.labels.containerName] ?? c.name, pod: sb.name, namespace: sb.namespace },
    stats: statsOf(deps.paths, rel),
    ...(start !== undefined ? { startTimeSeconds: start } : {}),
    fs: { device: deviceOf(upper, mountinfo), usageBytes: await (deps.diskUsage ?? diskUsage)(upper) },
  };
}

/** The samples of every pod of ours with a ready sandbox, and of its running containers. */
export async function collectSamples(deps: CollectorDeps): Promise<ContainerSample[]> {
  const [sandboxes, containers] = await Promise.all([deps.runtime.listSandboxes(), deps.runtime.listContainers({ state: 'running' })]);
  const mountinfo = (deps.mountinfo ?? (() => fs.readFileSync('/proc/self/mountinfo', 'utf8')))();
  const out: ContainerSample[] = [];
  for (const sb of sandboxes) {
    const uid = sb.labels[deps.labels.podUid];
    if (uid === undefined || sb.state !== 'ready') continue;
    const mine = containers.filter((c) => c.sandboxId === sb.id);
    out.push(podSample(deps, uid, sb, mine));
    for (const c of mine) out.push(await containerSample(deps, uid, sb, c, mountinfo));
  }
  return out;
}

/**
 * The texts of /metrics/cadvisor and /metrics/resource. A failure to list
 * the runtime's pods is logged and answered with the scrape error set and
 * no series.
 */
export class CadvisorCollector {
  private readonly deps: CollectorDeps;

  constructor(
    deps: CollectorDeps,
    private readonly log: (line: string) => void = () => undefined,
  ) {
    // One cache for the collector's life: scrapes in a row reuse a layer's size.
    const now = deps.now ?? (() => new Date());
    const cache = new DiskUsageCache(10_000, () => now().getTime());
    this.deps = { diskUsage: (dir) => cache.usage(dir), ...deps };
  }

  private async samples(): Promise<{ samples: ContainerSample[]; now: Date; failed: boolean }> {
    const now = (this.deps.now ?? (() => new Date()))();
    try {
      return { samples: await collectSamples(this.deps), now, failed: false };
    } catch (err) {
      this.log(`cannot collect container metrics: ${errorMessage(err)}`);
      return { samples: [], now, failed: true };
    }
  }

  async cadvisorText(): Promise<string> {
    const { samples, now, failed } = await this.samples();
    return renderCadvisorMetrics(samples, now.getTime() / 1000, failed);
  }

  async resourceText(): Promise<string> {
    const { samples, now, failed } = await this.samples();
    return renderResourceMetrics(samples, now.getTime(), failed);
  }
}
