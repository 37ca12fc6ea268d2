// The kubelet's /metrics/cadvisor in the Prometheus text format: cAdvisor's
// metric names, types, help texts and labels. Every series carries
// `container`, `id` (the cgroup path), `image`, `name`, `namespace` and
// `pod`; pod-level cgroups have `container=""` (and no image or name), as the
// kubelet's cAdvisor reports them. A pure function of what was read.

import type { CgroupStats } from './cgroup-stats';
import type { InterfaceStats } from './net-dev';

/** The labels of one cgroup's series. */
export interface ContainerLabels {
  /** The cgroup path from the hierarchy's root, such as /tsk/pod<uid>/<container-id>. */
  id: string;
  /** The runtime's name for the container (its ID); "" for a pod. */
  name: string;
  image: string;
  /** The Kubernetes container name; "" for a pod. */
  container: string;
  pod: string;
  namespace: string;
}

/** What was read of one cgroup. */
export interface ContainerSample {
  labels: ContainerLabels;
  stats: CgroupStats;
  /** Unix seconds the container started (the pod: its sandbox was made). */
  startTimeSeconds?: number;
  /** Of the pod's network namespace; pod-level entries only. */
  network?: readonly InterfaceStats[];
  /** Bytes in the container's writable layer (the overlay's upper directory), on `device`. */
  fs?: { device: string; usageBytes: number };
}

type MetricType = 'counter' | 'gauge';

interface Value {
  /** Values of the family's extra labels, in order. */
  extra: readonly string[];
  value: number;
}

interface Family {
  name: string;
  help: string;
  type: MetricType;
  extraLabels?: readonly string[];
  values(s: ContainerSample, nowSeconds: number): Value[];
}

const one = (value: number | undefined): Value[] => (value === undefined ? [] : [{ extra: [], value }]);

/** A value cAdvisor reports only when it is set (a quota or period of 0 is "none"). */
const nonZero = (value: number | undefined): Value[] => (value ? [{ extra: [], value }] : []);

/** A counter with a value per network interface of the pod (cAdvisor's container_network_*). */
function interfaceCounter(name: string, help: string, pick: (i: InterfaceStats) => number): Family {
  return { name, help, type: 'counter', extraLabels: ['interface'], values: (s) => (s.network ?? []).map((i) => ({ extra: [i.name], value: pick(i) })) };
}

/** In cAdvisor's order (metrics/prometheus.go), the ones tsk reads. */
export const FAMILIES: readonly Family[] = [
  {
    name: 'container_cpu_system_seconds_total',
    help: 'Cumulative system cpu time consumed in seconds.',
    type: 'counter',
    values: (s) => one(s.stats.cpuSystemSeconds),
  },
  {
    name: 'container_cpu_usage_seconds_total',
    help: 'Cumulative cpu time consumed in seconds.',
    type: 'counter',
    // Without per-CPU accounting cAdvisor reports the total under cpu="total".
    extraLabels: ['cpu'],
    values: (s) => (s.stats.cpuUsageSeconds === undefined ? [] : [{ extra: ['total'], value: s.stats.cpuUsageSeconds }]),
  },
  {
    name: 'container_cpu_user_seconds_total',
    help: 'Cumulative user cpu time consumed in seconds.',
    type: 'counter',
    values: (s) => one(s.stats.cpuUserSeconds),
  },
  {
    name: 'container_fs_usage_bytes',
    help: 'Number of bytes that are consumed by the container on this filesystem.',
    type: 'gauge',
    extraLabels: ['device'],
    values: (s) => (s.fs ? [{ extra: [s.fs.device], value: s.fs.usageBytes }] : []),
  },
  {
    name: 'container_last_seen',
    help: 'Last time a container was seen by the exporter',
    type: 'gauge',
    values: (_s, now) => [{ extra: [], value: now }],
  },
  {
    name: 'container_memory_cache',
    help: 'Number of bytes of page cache memory.',
    type: 'gauge',
    values: (s) => one(s.stats.memoryCacheBytes),
  },
  {
    name: 'container_memory_rss',
    help: 'Size of RSS in bytes.',
    type: 'gauge',
    values: (s) => one(s.stats.memoryRssBytes),
  },
  {
    name: 'container_memory_usage_bytes',
    help: 'Current memory usage in bytes, including all memory regardless of when it was accessed',
    type: 'gauge',
    values: (s) => one(s.stats.memoryUsageBytes),
  },
  {
    name: 'container_memory_working_set_bytes',
    help: 'Current working set in bytes.',
    type: 'gauge',
    values: (s) => one(s.stats.memoryWorkingSetBytes),
  },
  interfaceCounter('container_network_receive_bytes_total', 'Cumulative count of bytes received', (i) => i.rxBytes),
  interfaceCounter('container_network_receive_errors_total', 'Cumulative count of errors encountered while receiving', (i) => i.rxErrors),
  interfaceCounter('container_network_receive_packets_dropped_total', 'Cumulative count of packets dropped while receiving', (i) => i.rxDropped),
  interfaceCounter('container_network_receive_packets_total', 'Cumulative count of packets received', (i) => i.rxPackets),
  interfaceCounter('container_network_transmit_bytes_total', 'Cumulative count of bytes transmitted', (i) => i.txBytes),
  interfaceCounter('container_network_transmit_errors_total', 'Cumulative count of errors encountered while transmitting', (i) => i.txErrors),
  interfaceCounter('container_network_transmit_packets_dropped_total', 'Cumulative count of packets dropped while transmitting', (i) => i.txDropped),
  interfaceCounter('container_network_transmit_packets_total', 'Cumulative count of packets transmitted', (i) => i.txPackets),
  {
    name: 'container_processes',
    help: 'Number of processes running inside the container.',
    type: 'gauge',
    values: (s) => one(s.stats.processes),
  },
  {
    name: 'container_spec_cpu_period',
    help: 'CPU period of the container.',
    type: 'gauge',
    values: (s) => nonZero(s.stats.cpuPeriodUs),
  },
  {
    name: 'container_spec_cpu_quota',
    help: 'CPU quota of the container.',
    type: 'gauge',
    values: (s) => nonZero(s.stats.cpuQuotaUs),
  },
  {
    name: 'container_spec_cpu_shares',
    help: 'CPU share of the container.',
    type: 'gauge',
    values: (s) => one(s.stats.cpuShares),
  },
  {
    name: 'container_spec_memory_limit_bytes',
    help: 'Memory limit for the container.',
    type: 'gauge',
    values: (s) => one(s.stats.memoryLimitBytes),
  },
  {
    name: 'container_start_time_seconds',
    help: 'Start time of the container since unix epoch in seconds.',
    type: 'gauge',
    values: (s) => one(s.startTimeSeconds),
  },
  {
    name: 'container_threads',
    help: 'Number of threads running inside the container',
    type: 'gauge',
    values: (s) => one(s.stats.threads),
  },
];

const BASE_LABELS = ['container', 'id', 'image', 'name', 'namespace', 'pod'] as const;

/** A label value in the text format: backslash, double quote and newline escaped. */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(v);
}

/** The label set of one series, names sorted as the Go client writes them. */
function labelText(s: ContainerSample, extraNames: readonly string[], extra: readonly string[]): string {
  const pairs: Array<[string, string]> = [
    ...BASE_LABELS.map((n): [string, string] => [n, s.labels[n]]),
    ...extraNames.map((n, i): [string, string] => [n, extra[i] ?? '']),
  ];
  pairs.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return pairs.map(([n, v]) => `${n}="${escapeLabelValue(v)}"`).join(',');
}

/**
 * The exposition of every sample, one family after another with its HELP
 * and TYPE lines; `nowSeconds` is container_last_seen. container_scrape_error
 * ends it: 1 when a cgroup could not be read (`scrapeError`), as cAdvisor's.
 */
export function renderCadvisorMetrics(samples: readonly ContainerSample[], nowSeconds: number, scrapeError = false): string {
  const lines: string[] = [];
  for (const f of FAMILIES) {
    const series = samples.flatMap((s) =>
      f.values(s, nowSeconds).map((v) => `${f.name}{${labelText(s, f.extraLabels ?? [], v.extra)}} ${formatValue(v.value)}`),
    );
    if (series.length === 0) continue;
    lines.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`, ...series);
  }
  lines.push(
    '# HELP container_scrape_error 1 if there was an error while getting container metrics, 0 otherwise',
    '# TYPE container_scrape_error gauge',
    `container_scrape_error ${scrapeError ? 1 : 0}`,
  );
  return `${lines.join('\n')}\n`;
}

/** The text format's content type (Prometheus 0.0.4). */
export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
