// The scheduler's Prometheus metrics, named as kube-scheduler's, in the
// component's own Registry (never the global one).

import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { QueueLengths } from './queue/scheduling-queue';

export type AttemptResult = 'scheduled' | 'unschedulable' | 'error';

export const PROFILE = 'default-scheduler';

export class SchedulerMetrics {
  readonly attempts: Counter<'result' | 'profile'>;
  readonly attemptDuration: Histogram<'result' | 'profile'>;
  readonly pendingPods: Gauge<'queue'>;

  constructor(registry: Registry, lengths: () => QueueLengths) {
    this.attempts = new Counter({
      name: 'scheduler_schedule_attempts_total',
      help: 'Number of attempts to schedule pods, by the result. "unschedulable" means a pod could not be scheduled, while "error" means an internal scheduler problem.',
      labelNames: ['result', 'profile'] as const,
      registers: [registry],
    });
    this.attemptDuration = new Histogram({
      name: 'scheduler_scheduling_attempt_duration_seconds',
      help: 'Scheduling attempt latency in seconds (scheduling algorithm + binding).',
      labelNames: ['result', 'profile'] as const,
      // Kubernetes' buckets: exponential from 1 ms, factor 2, 15 buckets.
      buckets: Array.from({ length: 15 }, (_, i) => 0.001 * 2 ** i),
      registers: [registry],
    });
    this.pendingPods = new Gauge({
      name: 'scheduler_pending_pods',
      help: 'Number of pending pods, by the queue type. "active" means number of pods in activeQ; "backoff" means number of pods in backoffQ; "unschedulable" means number of pods in unschedulablePods.',
      labelNames: ['queue'] as const,
      registers: [registry],
      collect() {
        const l = lengths();
        this.set({ queue: 'active' }, l.active);
        this.set({ queue: 'backoff' }, l.backoff);
        this.set({ queue: 'unschedulable' }, l.unschedulable);
      },
    });
  }

  /** Counts one attempt and its duration (from the start of its cycle). */
  observe(result: AttemptResult, seconds: number): void {
    this.attempts.inc({ result, profile: PROFILE });
    this.attemptDuration.observe({ result, profile: PROFILE }, Math.max(0, seconds));
  }
}
