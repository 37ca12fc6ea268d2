// A cgroup's resource accounting as cAdvisor reads it, from cgroup v1
// (cpuacct, cpu, memory, pids hierarchies) or v2 (one tree): CPU time in
// total, user and system; memory usage, working set (usage minus
// inactive_file), RSS and page cache; the limits in force; processes and
// threads. A file that is absent leaves its field undefined (its metric is
// not reported), as cAdvisor skips what a cgroup does not have.

import * as fs from 'node:fs';
import * as path from 'node:path';

export type CgroupVersion = 1 | 2;
/** The v1 hierarchies read; on v2 every controller is the same directory. */
export type StatsController = 'cpu' | 'cpuacct' | 'memory' | 'pids';

export interface CgroupStats {
  cpuUsageSeconds?: number;
  cpuUserSeconds?: number;
  cpuSystemSeconds?: number;
  memoryUsageBytes?: number;
  memoryWorkingSetBytes?: number;
  memoryRssBytes?: number;
  memoryCacheBytes?: number;
  /** 0: no limit (cAdvisor reports an unlimited cgroup's limit as 0). */
  memoryLimitBytes?: number;
  /** CFS quota and period in microseconds; quota 0: no limit. */
  cpuQuotaUs?: number;
  cpuPeriodUs?: number;
  /** cpu.shares (v1), or cpu.weight (v2) mapped back to shares. */
  cpuShares?: number;
  processes: number;
  threads: number;
}

/** What the parser reads of one cgroup. */
export interface CgroupFiles {
  /** FILE of the cgroup in CONTROLLER's hierarchy; undefined when it is absent. */
  read(controller: StatsController, file: string): string | undefined;
  /** FILE of the cgroup and of every cgroup below it (a container may nest cgroups: its processes count). */
  readTree(controller: StatsController, file: string): string[];
}

/** v1 cpuacct.stat counts USER_HZ ticks, 100 a second on every Linux architecture tsk runs on. */
const USER_HZ = 100;
/** Limits above this are "no limit" (v1 writes 2^63 rounded to the page size); cAdvisor reports them as 0. */
const UNLIMITED_ABOVE = 1e18;

/** "key value" lines (memory.stat, cpu.stat, cpuacct.stat) as a map. */
export function parseFlatKeyed(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value !== undefined && /^-?\d+$/.test(value)) out.set(key, Number(value));
  }
  return out;
}

function numberOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  if (t === 'max') return Number.POSITIVE_INFINITY;
  return /^-?\d+$/.test(t) ? Number(t) : undefined;
}

function limitOf(bytes: number | undefined): number | undefined {
  if (bytes === undefined) return undefined;
  return bytes > UNLIMITED_ABOVE ? 0 : bytes;
}

/** Lines of every file: the PIDs (cgroup.procs) or TIDs (tasks, cgroup.threads) in them. */
function countIds(texts: readonly string[]): number {
  return texts.reduce((n, t) => n + t.split('\n').filter((l) => l.trim() !== '').length, 0);
}

function workingSet(usage: number | undefined, inactiveFile: number | undefined): number | undefined {
  if (usage === undefined) return undefined;
  return Math.max(0, usage - (inactiveFile ?? 0));
}

/** cgroup v1: cpuacct.usage/stat, cpu.cfs_*, cpu.shares, memory.usage_in_bytes/stat/limit_in_bytes. */
function readV1(f: CgroupFiles): CgroupStats {
  const cpuacct = parseFlatKeyed(f.read('cpuacct', 'cpuacct.stat') ?? '');
  const usageNs = numberOf(f.read('cpuacct', 'cpuacct.usage'));
  const mem = parseFlatKeyed(f.read('memory', 'memory.stat') ?? '');
  const usage = numberOf(f.read('memory', 'memory.usage_in_bytes'));
  const quota = numberOf(f.read('cpu', 'cpu.cfs_quota_us'));
  const user = cpuacct.get('user');
  const system = cpuacct.get('system');
  return {
    ...(usageNs !== undefined ? { cpuUsageSeconds: usageNs / 1e9 } : {}),
    ...(user !== undefined ? { cpuUserSeconds: user / USER_HZ } : {}),
    ...(system !== undefined ? { cpuSystemSeconds: system / USER_HZ } : {}),
    ...defined('memoryUsageBytes', usage),
    ...defined('memoryWorkingSetBytes', workingSet(usage, mem.get('total_inactive_file'))),
    // The hierarchical totals: a container's nested cgroups count, as cAdvisor reads them.
    ...defined('memoryRssBytes', mem.get('total_rss')),
    ...defined('memoryCacheBytes', mem.get('total_cache')),
    ...defined('memoryLimitBytes', limitOf(numberOf(f.read('memory', 'memory.limit_in_bytes')))),
    // -1: no quota, reported as 0 (cAdvisor then leaves container_spec_cpu_quota out).
    ...(quota !== undefined ? { cpuQuotaUs: Math.max(0, quota) } : {}),
    ...defined('cpuPeriodUs', numberOf(f.read('cpu', 'cpu.cfs_period_us'))),
    ...defined('cpuShares', numberOf(f.read('cpu', 'cpu.shares'))),
    processes: countIds(f.readTree('pids', 'cgroup.procs')),
    threads: countIds(f.readTree('pids', 'tasks')),
  };
}

/** The OCI mapping of cpu.weight [1, 10000] back to cpu.shares [2, 262144] (cAdvisor reports shares on v2 so). */
export function weightToShares(weight: number): number {
  return Math.round(2 + ((weight - 1) * 262142) / 9999);
}

/** cgroup v2: cpu.stat, cpu.max, cpu.weight, memory.current/stat/max. */
function readV2(f: CgroupFiles): CgroupStats {
  const cpu = parseFlatKeyed(f.read('cpu', 'cpu.stat') ?? '');
  const mem = parseFlatKeyed(f.read('memory', 'memory.stat') ?? '');
  const usage = numberOf(f.read('memory', 'memory.current'));
  const max = f.read('cpu', 'cpu.max')?.trim().split(/\s+/);
  const weight = numberOf(f.read('cpu', 'cpu.weight'));
  const seconds = (us: number | undefined): number | undefined => (us === undefined ? undefined : us / 1e6);
  return {
    ...defined('cpuUsageSeconds', seconds(cpu.get('usage_usec'))),
    ...defined('cpuUserSeconds', seconds(cpu.get('user_usec'))),
    ...defined('cpuSystemSeconds', seconds(cpu.get('system_usec'))),
    ...defined('memoryUsageBytes', usage),
    ...defined('memoryWorkingSetBytes', workingSet(usage, mem.get('inactive_file'))),
    // v2 has no "rss": cAdvisor reports anonymous memory as RSS and file pages as cache.
    ...defined('memoryRssBytes', mem.get('anon')),
    ...defined('memoryCacheBytes', mem.get('file')),
    ...defined('memoryLimitBytes', limitOf(numberOf(f.read('memory', 'memory.max')))),
    ...(max && max.length === 2 ? { cpuQuotaUs: max[0] === 'max' ? 0 : Number(max[0]), ...defined('cpuPeriodUs', numberOf(max[1])) } : {}),
    ...(weight !== undefined ? { cpuShares: weightToShares(weight) } : {}),
    processes: countIds(f.readTree('pids', 'cgroup.procs')),
    threads: countIds(f.readTree('pids', 'cgroup.threads')),
  };
}

function defined<K extends keyof CgroupStats>(key: K, value: number | undefined): Partial<Pick<CgroupStats, K>> {
  return value === undefined || !Number.isFinite(value) ? {} : ({ [key]: value } as Partial<Pick<CgroupStats, K>>);
}

export function readCgroupStats(version: CgroupVersion, files: CgroupFiles): CgroupStats {
  return version === 1 ? readV1(files) : readV2(files);
}

function readOrUndefined(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function treeDirs(dir: string): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.filter((e) => e.isDirectory()).flatMap((e) => [path.join(dir, e.name), ...treeDirs(path.join(dir, e.name))]);
}

/** The files of one cgroup, given its directory in each controller's hierarchy (v2: the same for all). */
export function cgroupDirFiles(dirOf: (controller: StatsController) => string): CgroupFiles {
  return {
    read: (controller, file) => readOrUndefined(path.join(dirOf(controller), file)),
    readTree: (controller, file) => {
      const top = dirOf(controller);
      if (!fs.existsSync(top)) return [];
      return [top, ...treeDirs(top)].flatMap((d) => readOrUndefined(path.join(d, file)) ?? []);
    },
  };
}
