import test from 'ava';
import { escapeLabelValue, renderCadvisorMetrics, type ContainerSample } from './exposition';
import { renderResourceMetrics } from './resource-metrics';

const POD: ContainerSample = {
  labels: { id: '/tsk/podu1', name: '', image: '', container: '', pod: 'web', namespace: 'default' },
  stats: { cpuUsageSeconds: 3, memoryWorkingSetBytes: 4096, processes: 2, threads: 2, cpuQuotaUs: 0, cpuPeriodUs: 100000 },
  startTimeSeconds: 1700000000,
  network: [{ name: 'eth0', rxBytes: 10, rxPackets: 1, rxErrors: 0, rxDropped: 0, txBytes: 20, txPackets: 2, txErrors: 0, txDropped: 0 }],
};

const CONTAINER: ContainerSample = {
  labels: { id: '/tsk/podu1/c1', name: 'c1', image: 'busybox:1.36', container: 'app', pod: 'web', namespace: 'default' },
  stats: { cpuUsageSeconds: 2.5, cpuUserSeconds: 2, memoryWorkingSetBytes: 1024, memoryLimitBytes: 0, processes: 1, threads: 1 },
  fs: { device: '/dev/sda1', usageBytes: 8192 },
};

test('renders cAdvisor families: HELP and TYPE once, sorted labels, cpu="total", the pod entry with container=""', (t) => {
  const text = renderCadvisorMetrics([POD, CONTAINER], 1700000100);
  const lines = text.split('\n');
  t.true(lines.includes('# HELP container_cpu_usage_seconds_total Cumulative cpu time consumed in seconds.'));
  t.true(lines.includes('# TYPE container_cpu_usage_seconds_total counter'));
  t.true(lines.includes('container_cpu_usage_seconds_total{container="",cpu="total",id="/tsk/podu1",image="",name="",namespace="default",pod="web"} 3'));
  t.true(
    lines.includes(
      'container_cpu_usage_seconds_total{container="app",cpu="total",id="/tsk/podu1/c1",image="busybox:1.36",name="c1",namespace="default",pod="web"} 2.5',
    ),
  );
  t.true(lines.includes('# TYPE container_memory_working_set_bytes gauge'));
  t.true(
    lines.includes('container_memory_working_set_bytes{container="app",id="/tsk/podu1/c1",image="busybox:1.36",name="c1",namespace="default",pod="web"} 1024'),
  );
  t.true(
    lines.includes('container_network_receive_bytes_total{container="",id="/tsk/podu1",image="",interface="eth0",name="",namespace="default",pod="web"} 10'),
  );
  t.true(
    lines.includes('container_network_transmit_packets_total{container="",id="/tsk/podu1",image="",interface="eth0",name="",namespace="default",pod="web"} 2'),
  );
  t.true(
    lines.includes(
      'container_fs_usage_bytes{container="app",device="/dev/sda1",id="/tsk/podu1/c1",image="busybox:1.36",name="c1",namespace="default",pod="web"} 8192',
    ),
  );
  t.true(lines.includes('container_last_seen{container="app",id="/tsk/podu1/c1",image="busybox:1.36",name="c1",namespace="default",pod="web"} 1700000100'));
  t.true(lines.includes('container_start_time_seconds{container="",id="/tsk/podu1",image="",name="",namespace="default",pod="web"} 1700000000'));
  t.is(lines.filter((l) => l === '# TYPE container_cpu_usage_seconds_total counter').length, 1);
  t.true(text.endsWith('container_scrape_error 0\n'));
});

test('values a cgroup does not have are left out; a zero quota or period is "none"; an unlimited memory limit is 0', (t) => {
  const text = renderCadvisorMetrics([CONTAINER], 1);
  t.false(text.includes('container_cpu_system_seconds_total'));
  t.false(text.includes('container_network_'));
  t.false(text.includes('container_spec_cpu_quota'));
  t.true(
    text.includes('container_spec_memory_limit_bytes{container="app",id="/tsk/podu1/c1",image="busybox:1.36",name="c1",namespace="default",pod="web"} 0\n'),
  );
  const pod = renderCadvisorMetrics([POD], 1);
  t.false(pod.includes('container_spec_cpu_quota'));
  t.true(pod.includes('container_spec_cpu_period{container="",id="/tsk/podu1",image="",name="",namespace="default",pod="web"} 100000\n'));
});

test('every series line parses as the text format: name{labels} value, only declared families', (t) => {
  const text = renderCadvisorMetrics([POD, CONTAINER], 5, true);
  const declared = new Set<string>();
  for (const line of text.trimEnd().split('\n')) {
    const type = /^# TYPE (\S+) (counter|gauge)$/.exec(line);
    if (type) {
      declared.add(type[1] ?? '');
      continue;
    }
    if (line.startsWith('# HELP ')) continue;
    const m = /^([a-z_]+)(\{([a-z_]+="(?:[^"\\]|\\.)*",?)*\})? (\S+)$/.exec(line);
    t.truthy(m, line);
    t.true(declared.has(m?.[1] ?? ''), line);
    t.false(Number.isNaN(Number(m?.[4])), line);
  }
  t.true(text.endsWith('container_scrape_error 1\n'));
});

test('escapeLabelValue escapes backslash, quote and newline', (t) => {
  t.is(escapeLabelValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
});

test('/metrics/resource: container and pod CPU and working set with Kubernetes labels and a timestamp', (t) => {
  const text = renderResourceMetrics([POD, CONTAINER], 1700000100123);
  const lines = text.split('\n');
  t.true(lines.includes('# TYPE container_cpu_usage_seconds_total counter'));
  t.true(lines.includes('container_cpu_usage_seconds_total{container="app",namespace="default",pod="web"} 2.5 1700000100123'));
  t.true(lines.includes('container_memory_working_set_bytes{container="app",namespace="default",pod="web"} 1024 1700000100123'));
  t.true(lines.includes('pod_cpu_usage_seconds_total{namespace="default",pod="web"} 3 1700000100123'));
  t.true(lines.includes('pod_memory_working_set_bytes{namespace="default",pod="web"} 4096 1700000100123'));
  t.false(text.includes('container_cpu_usage_seconds_total{container="",'));
  t.true(text.endsWith('scrape_error 0\n'));
});
