// The kubelet's Prometheus metrics, named as Kubernetes' kubelet names them.
// One Registry per kubelet (tests may run several in one process).

import { Gauge, Histogram, Registry } from 'prom-client';

export class KubeletMetrics {
  readonly registry = new Registry();

  readonly runningPods = new Gauge({
    name: 'kubelet_running_pods',
    help: 'Number of pods that have a running pod sandbox.',
    registers: [this.registry],
  });

  readonly runningContainers = new Gauge({
    name: 'kubelet_running_containers',
    help: 'Number of containers currently running, by state.',
    labelNames: ['container_state'] as const,
    registers: [this.registry],
  });

  readonly podStartDuration = new Histogram({
    name: 'kubelet_pod_start_duration_seconds',
    help: 'Duration in seconds from the kubelet seeing a pod for the first time to the pod running.',
    buckets: [0.5, 1, 2, 3, 4, 5, 6, 8, 10, 20, 30, 45, 60, 120, 180, 240, 300, 360, 480, 600, 900, 1200, 1800],
    registers: [this.registry],
  });

  readonly podWorkerDuration = new Histogram({
    name: 'kubelet_pod_worker_duration_seconds',
    help: 'Duration in seconds to sync a single pod, by operation (sync, terminate, cleanup).',
    labelNames: ['operation'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });

  readonly nodeStatusUpdates = new Gauge({
    name: 'kubelet_node_status_last_update_timestamp_seconds',
    help: 'Unix time of the last successful node status update.',
    registers: [this.registry],
  });

  readonly nodeLeaseRenewals = new Gauge({
    name: 'kubelet_node_lease_last_renew_timestamp_seconds',
    help: 'Unix time of the last successful renewal of the node heartbeat Lease.',
    registers: [this.registry],
  });
}
