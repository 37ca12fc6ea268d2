// The kubelet's /metrics/resource (what metrics-server reads): CPU and
// working set of every pod and container, with Kubernetes' names and help
// texts (pkg/kubelet/metrics/collectors/resource_metrics.go), from the same
// samples as /metrics/cadvisor. Each sample carries the time it was read,
// in milliseconds, as the kubelet's does.

import { escapeLabelValue, type ContainerSample } from './exposition';

interface ResourceFamily {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  /** Pod-level samples (container="") or container samples. */
  pods: boolean;
  value(s: ContainerSample): number | undefined;
}

const FAMILIES: readonly ResourceFamily[] = [
  {
    name: 'container_cpu_usage_seconds_total',
    help: 'Cumulative cpu time consumed by the container in core-seconds',
    type: 'counter',
    pods: false,
    value: (s) => s.stats.cpuUsageSeconds,
  },
  {
    name: 'container_memory_working_set_bytes',
    help: 'Current working set of the container in bytes',
    type: 'gauge',
    pods: false,
    value: (s) => s.stats.memoryWorkingSetBytes,
  },
  {
    name: 'container_start_time_seconds',
    help: 'Start time of the container since unix epoch in seconds',
    type: 'gauge',
    pods: false,
    value: (s) => s.startTimeSeconds,
  },
  {
    name: 'pod_cpu_usage_seconds_total',
    help: 'Cumulative cpu time consumed by the pod in core-seconds',
    type: 'counter',
    pods: true,
    value: (s) => s.stats.cpuUsageSeconds,
  },
  {
    name: 'pod_memory_working_set_bytes',
    help: 'Current working set of the pod in bytes',
    type: 'gauge',
    pods: true,
    value: (s) => s.stats.memoryWorkingSetBytes,
  },
];

function labels(s: ContainerSample, pods: boolean): string {
  const l = s.labels;
  const pairs = pods
    ? [
        ['namespace', l.namespace],
        ['pod', l.pod],
      ]
    : [
        ['container', l.container],
        ['namespace', l.namespace],
        ['pod', l.pod],
      ];
  return pairs.map(([n, v]) => `${n ?? ''}="${escapeLabelValue(v ?? '')}"`).join(',');
}

/** The exposition of /metrics/resource at `nowMs`; scrape_error 1 when the samples could not be read. */
export function renderResourceMetrics(samples: readonly ContainerSample[], nowMs: number, scrapeError = false): string {
  const lines: string[] = [];
  for (const f of FAMILIES) {
    const series = samples
      .filter((s) => (s.labels.container === '') === f.pods)
      .flatMap((s) => {
        const v = f.value(s);
        return v === undefined ? [] : [`${f.name}{${labels(s, f.pods)}} ${v} ${Math.round(nowMs)}`];
      });
    if (series.length === 0) continue;
    lines.push(`# HELP ${f.name} [STABLE] ${f.help}`, `# TYPE ${f.name} ${f.type}`, ...series);
  }
  lines.push(
    '# HELP scrape_error [ALPHA] 1 if there was an error while getting container metrics, 0 otherwise',
    '# TYPE scrape_error gauge',
    `scrape_error ${scrapeError ? 1 : 0}`,
  );
  return `${lines.join('\n')}\n`;
}
