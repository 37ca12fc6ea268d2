// The proxy's metrics, named as kube-proxy's, in a Registry of its own.

import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** kube-proxy's buckets for sync durations: 1 ms doubling 15 times. */
const SYNC_BUCKETS = Array.from({ length: 15 }, (_, i) => 0.001 * 2 ** i);
/** kube-proxy's network programming buckets: 0.25 s to 30 min. */
const PROGRAMMING_BUCKETS = [
  0.25, 0.5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 30, 45, 60, 120, 180, 240, 300, 360, 420, 480, 540, 600, 900, 1200, 1500,
  1800,
];

export interface ProxyMetrics {
  readonly registry: Registry;
  readonly syncDuration: Histogram;
  readonly fullSyncDuration: Histogram;
  readonly partialSyncDuration: Histogram;
  readonly lastSyncTimestamp: Gauge;
  readonly lastQueuedTimestamp: Gauge;
  readonly networkProgramming: Histogram;
  readonly restoreFailures: Counter;
  readonly rulesTotal: Gauge<'table'>;
  readonly serviceChanges: Counter;
  readonly endpointChanges: Counter;
}

export function newProxyMetrics(registry = new Registry()): ProxyMetrics {
  const registers = [registry];
  return {
    registry,
    syncDuration: new Histogram({
      name: 'kubeproxy_sync_proxy_rules_duration_seconds',
      help: 'SyncProxyRules latency in seconds',
      buckets: SYNC_BUCKETS,
      registers,
    }),
    fullSyncDuration: new Histogram({
      name: 'kubeproxy_sync_full_proxy_rules_duration_seconds',
      help: 'SyncProxyRules latency in seconds for full resyncs',
      buckets: SYNC_BUCKETS,
      registers,
    }),
    partialSyncDuration: new Histogram({
      name: 'kubeproxy_sync_partial_proxy_rules_duration_seconds',
      help: 'SyncProxyRules latency in seconds for partial resyncs',
      buckets: SYNC_BUCKETS,
      registers,
    }),
    lastSyncTimestamp: new Gauge({
      name: 'kubeproxy_sync_proxy_rules_last_timestamp_seconds',
      help: 'The last time proxy rules were successfully synced',
      registers,
    }),
    lastQueuedTimestamp: new Gauge({
      name: 'kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds',
      help: 'The last time a sync of proxy rules was queued',
      registers,
    }),
    networkProgramming: new Histogram({
      name: 'kubeproxy_network_programming_duration_seconds',
      help: "In-cluster network programming latency in seconds: from the change of a service's pods (the Endpoints' endpoints.kubernetes.io/last-change-trigger-time) to its rules being applied",
      buckets: PROGRAMMING_BUCKETS,
      registers,
    }),
    restoreFailures: new Counter({
      name: 'kubeproxy_sync_proxy_rules_iptables_restore_failures_total',
      help: 'Cumulative proxy iptables restore failures',
      registers,
    }),
    rulesTotal: new Gauge({
      name: 'kubeproxy_sync_proxy_rules_iptables_total',
      help: 'Number of iptables rules owned by the proxy',
      labelNames: ['table'],
      registers,
    }),
    serviceChanges: new Counter({
      name: 'kubeproxy_sync_proxy_rules_service_changes_total',
      help: 'Cumulative proxy rules Service changes',
      registers,
    }),
    endpointChanges: new Counter({
      name: 'kubeproxy_sync_proxy_rules_endpoint_changes_total',
      help: 'Cumulative proxy rules Endpoint changes',
      registers,
    }),
  };
}
