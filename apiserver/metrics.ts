// The API server's Prometheus metrics, named as Kubernetes' apiserver names
// them so existing dashboards and habits carry over. One Registry per server
// instance: tests and `tsk server` may run several in one process.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class ApiServerMetrics {
  readonly registry = new Registry();

  readonly requests = new Counter({
    name: 'apiserver_request_total',
    help: 'API requests by verb, resource and HTTP-equivalent status code.',
    labelNames: ['verb', 'resource', 'code'] as const,
    registers: [this.registry],
  });

  readonly requestDuration = new Histogram({
    name: 'apiserver_request_duration_seconds',
    help: 'API request latency by verb and resource (watches excluded).',
    labelNames: ['verb', 'resource'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly etcdDuration = new Histogram({
    name: 'etcd_request_duration_seconds',
    help: 'etcd request latency by operation and object type.',
    labelNames: ['operation', 'type'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  /**
   * Transactions whose compare failed: a create of a name taken, or a write
   * that raced another writer (the registry's compare-and-swap then reads
   * and tries again, or reports a Conflict). Kubernetes has no such series;
   * named after etcd_request_errors_total, whose labels it has.
   */
  readonly etcdCompareFailures = new Counter({
    name: 'etcd_request_compare_failures_total',
    help: 'etcd transactions whose compare failed (a conflict with another writer), by operation and object type.',
    labelNames: ['operation', 'type'] as const,
    registers: [this.registry],
  });

  readonly registeredWatchers = new Gauge({
    name: 'apiserver_registered_watchers',
    help: 'Open watches by resource.',
    labelNames: ['resource'] as const,
    registers: [this.registry],
  });

  readonly longrunningRequests = new Gauge({
    name: 'apiserver_longrunning_requests',
    help: 'Long-running requests (watches) in flight by resource.',
    labelNames: ['resource'] as const,
    registers: [this.registry],
  });

  readonly storageObjects = new Gauge({
    name: 'apiserver_storage_objects',
    help: 'Objects stored, by resource (from the watch cache).',
    labelNames: ['resource'] as const,
    registers: [this.registry],
  });

  readonly watchEvents = new Counter({
    name: 'apiserver_watch_events_total',
    help: 'Watch events sent to clients, by resource.',
    labelNames: ['resource'] as const,
    registers: [this.registry],
  });

  readonly compactions = new Counter({
    name: 'apiserver_storage_compactions_total',
    help: 'Compactions of etcd history this API server made, by result (success or error).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  readonly compactedRevision = new Gauge({
    name: 'apiserver_storage_compacted_revision',
    help: 'The etcd revision this API server last compacted to.',
    registers: [this.registry],
  });

  readonly storageSize = new Gauge({
    name: 'apiserver_storage_size_bytes',
    help: "Size of each etcd member's database file, bytes.",
    labelNames: ['member'] as const,
    registers: [this.registry],
  });

  readonly storageSizeInUse = new Gauge({
    name: 'apiserver_storage_size_in_use_bytes',
    help: "Bytes of each etcd member's database file that hold data (the rest is freed by defragmentation).",
    labelNames: ['member'] as const,
    registers: [this.registry],
  });

  readonly storageQuota = new Gauge({
    name: 'apiserver_storage_quota_bytes',
    help: "The etcd members' backend quota, bytes (writes fail beyond it).",
    registers: [this.registry],
  });

  readonly defragmentations = new Counter({
    name: 'apiserver_storage_defragmentations_total',
    help: 'Defragmentations of etcd members this API server made.',
    labelNames: ['member'] as const,
    registers: [this.registry],
  });

  readonly lastSnapshot = new Gauge({
    name: 'apiserver_storage_last_snapshot_timestamp_seconds',
    help: 'When the last scheduled etcd snapshot was taken (Unix time).',
    registers: [this.registry],
  });

  readonly embeddedEtcdRestarts = new Counter({
    name: 'apiserver_embedded_etcd_restarts_total',
    help: 'Restarts of the embedded etcd after it exited unexpectedly.',
    registers: [this.registry],
  });

  readonly nodeTunnels = new Gauge({
    name: 'apiserver_node_tunnels',
    help: 'Kubelets connected through their reverse tunnel.',
    registers: [this.registry],
  });

  readonly tunnelSessions = new Gauge({
    name: 'apiserver_node_tunnel_sessions',
    help: 'Log, exec, attach and port-forward sessions open through node tunnels, by type.',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });

  readonly tunnelSessionsTotal = new Counter({
    name: 'apiserver_node_tunnel_sessions_total',
    help: 'Log, exec, attach and port-forward sessions opened through node tunnels, by type.',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });

  /** Label lookups cached per series: prom-client validates and hashes labels on every labels() call. */
  private readonly etcdChildren = new Map<string, { observe(v: number): void }>();
  private readonly durationChildren = new Map<string, { observe(v: number): void }>();
  private readonly requestChildren = new Map<string, { inc(): void }>();
  private readonly compareFailureChildren = new Map<string, { inc(): void }>();

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /** Starts timing an etcd call; the returned function records it into etcd_request_duration_seconds. */
  etcdTimer(operation: string, type: string): () => void {
    const key = `${operation}\0${type}`;
    let child = this.etcdChildren.get(key);
    if (!child) {
      child = this.etcdDuration.labels({ operation, type });
      this.etcdChildren.set(key, child);
    }
    const c = child;
    const start = performance.now();
    return () => c.observe((performance.now() - start) / 1000);
  }

  /** Counts one transaction whose compare failed into etcd_request_compare_failures_total. */
  countCompareFailure(operation: string, type: string): void {
    const key = `${operation}\0${type}`;
    let child = this.compareFailureChildren.get(key);
    if (!child) {
      child = this.etcdCompareFailures.labels({ operation, type });
      this.compareFailureChildren.set(key, child);
    }
    child.inc();
  }

  /** The apiserver_request_duration_seconds series of a verb and resource. */
  requestDurationOf(verb: string, resource: string): { observe(seconds: number): void } {
    const key = `${verb}\0${resource}`;
    let child = this.durationChildren.get(key);
    if (!child) {
      child = this.requestDuration.labels({ verb, resource });
      this.durationChildren.set(key, child);
    }
    return child;
  }

  /** Counts one request into apiserver_request_total. */
  countRequest(verb: string, resource: string, code: number): void {
    const key = `${verb}\0${resource}\0${code}`;
    let child = this.requestChildren.get(key);
    if (!child) {
      child = this.requests.labels({ verb, resource, code: String(code) });
      this.requestChildren.set(key, child);
    }
    child.inc();
  }
}
