// The controllers' work queue with client-go's workqueue metrics
// (workqueue_adds_total, workqueue_depth, workqueue_retries_total,
// workqueue_queue_duration_seconds, workqueue_work_duration_seconds, each
// labelled by the queue's name), registered in the manager's Registry.
//
// client/workqueue.ts has no metrics hook, so this subclass observes it from
// the outside: it mirrors the queue's "dirty" set to count real adds (an add
// of a key already waiting is not one, as in client-go) and times each key
// from add to get (queue duration) and from get to done (work duration).

import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { WorkQueue, defaultControllerRateLimiter, type Clock } from '../client';
import type { ControllerContext } from './controller';

/** The metric objects of one Registry, shared by every queue registered in it. */
interface QueueMetrics {
  readonly adds: Counter<'name'>;
  readonly depth: Gauge<'name'>;
  readonly retries: Counter<'name'>;
  readonly queueDuration: Histogram<'name'>;
  readonly workDuration: Histogram<'name'>;
}

/** client-go's buckets: 1 us to 10 s, exponential by 10. */
const DURATION_BUCKETS = [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10];

const perRegistry = new WeakMap<Registry, QueueMetrics>();

function metricsOf(registry: Registry): QueueMetrics {
  let m = perRegistry.get(registry);
  if (m) return m;
  const registers = [registry];
  m = {
    adds: new Counter({ name: 'workqueue_adds_total', help: 'Total number of adds handled by workqueue', labelNames: ['name'], registers }),
    depth: new Gauge({ name: 'workqueue_depth', help: 'Current depth of workqueue', labelNames: ['name'], registers }),
    retries: new Counter({ name: 'workqueue_retries_total', help: 'Total number of retries handled by workqueue', labelNames: ['name'], registers }),
    queueDuration: new Histogram({
      name: 'workqueue_queue_duration_seconds',
      help: 'How long in seconds an item stays in workqueue before being requested',
      labelNames: ['name'],
      buckets: DURATION_BUCKETS,
      registers,
    }),
    workDuration: new Histogram({
      name: 'workqueue_work_duration_seconds',
      help: 'How long in seconds processing an item from workqueue takes',
      labelNames: ['name'],
      buckets: DURATION_BUCKETS,
      registers,
    }),
  };
  perRegistry.set(registry, m);
  return m;
}

/** A WorkQueue (same contract) whose activity is measured under `name`. */
export class MeteredWorkQueue<K = string> extends WorkQueue<K> {
  private readonly metrics: QueueMetrics;
  /** Keys added and not yet handed out, with when they were added. */
  private readonly waitingSince = new Map<K, number>();
  /** Keys being processed, with when they were handed out. */
  private readonly workingSince = new Map<K, number>();
  private readonly clockRef: Clock;
  /**
   * This queue's share of the gauge. Queues of one name share a series (a
   * new controller-manager term makes a new queue while the old one may
   * still be shutting down), so each moves the gauge by its own count and
   * takes only that back when it shuts down: setting the series to 0 would
   * wipe the other queue's items and later drive the gauge negative.
   */
  private depthCount = 0;

  constructor(
    readonly name: string,
    registry: Registry,
    clock: Clock,
  ) {
    super({ clock, rateLimiter: defaultControllerRateLimiter<K>(clock) });
    this.clockRef = clock;
    this.metrics = metricsOf(registry);
    this.metrics.depth.inc({ name }, 0);
    this.metrics.adds.inc({ name }, 0);
    this.metrics.retries.inc({ name }, 0);
  }

  override add(key: K): void {
    if (!this.isShuttingDown && !this.waitingSince.has(key)) {
      this.waitingSince.set(key, this.clockRef.now());
      this.metrics.adds.inc({ name: this.name });
      // A key re-added while being processed waits for done(), as in the queue.
      if (!this.workingSince.has(key)) this.moveDepth(1);
    }
    super.add(key);
  }

  override addRateLimited(key: K): void {
    if (!this.isShuttingDown) this.metrics.retries.inc({ name: this.name });
    super.addRateLimited(key);
  }

  override async get(): Promise<Awaited<ReturnType<WorkQueue<K>['get']>>> {
    const item = await super.get();
    if (item.shutdown) return item;
    const now = this.clockRef.now();
    const since = this.waitingSince.get(item.key);
    this.waitingSince.delete(item.key);
    if (!this.isShuttingDown) this.moveDepth(-1);
    if (since !== undefined) this.metrics.queueDuration.observe({ name: this.name }, (now - since) / 1000);
    this.workingSince.set(item.key, now);
    return item;
  }

  override done(key: K): void {
    const since = this.workingSince.get(key);
    this.workingSince.delete(key);
    if (since !== undefined) this.metrics.workDuration.observe({ name: this.name }, (this.clockRef.now() - since) / 1000);
    // A key added during processing goes back into the queue now.
    if (this.waitingSince.has(key) && !this.isShuttingDown) this.moveDepth(1);
    super.done(key);
  }

  override shutDown(): void {
    super.shutDown();
    this.moveDepth(-this.depthCount);
  }

  private moveDepth(by: number): void {
    if (by === 0) return;
    this.depthCount += by;
    if (by > 0) this.metrics.depth.inc({ name: this.name }, by);
    else this.metrics.depth.dec({ name: this.name }, -by);
  }
}

/** The queue a controller of the manager uses: metered in ctx.registry under `name`. */
export function newControllerQueue(ctx: Pick<ControllerContext, 'registry' | 'clock'>, name: string): MeteredWorkQueue<string> {
  return new MeteredWorkQueue<string>(name, ctx.registry, ctx.clock);
}
