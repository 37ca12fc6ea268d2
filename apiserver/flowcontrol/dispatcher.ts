// API Priority and Fairness' dispatcher: each request executes only on a
// free seat of its priority level, else waits in its flow's queue; a seat
// freed goes to the next flow with a waiting request, round robin, so one
// client's flood waits behind its own requests and not in front of others'.
// A level whose queues are full refuses with 429 TooManyRequests (clients
// retry after a second, as client-go does).
//
// Simpler than Kubernetes' dispatcher, said plainly: every request takes one
// seat (no work estimate for lists), levels do not lend or borrow seats, a
// flow's queue is its own (no shuffle sharding into a fixed set of queues),
// and round robin over flows stands for fair queuing's virtual time. What is
// kept is what matters under load: levels isolated by their seats, fairness
// between flows inside a level, and bounded queues.

import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { TooManyRequestsError } from '../../api/errors';
import { nominalSeats, type Classification, type PriorityLevel } from './config';

/** Kubernetes' defaults: --max-requests-inflight 400 and --max-mutating-requests-inflight 200, summed as APF does. */
export const DEFAULT_SERVER_CONCURRENCY = 600;

interface Waiter {
  readonly schema: string;
  readonly since: number;
  readonly go: () => void;
}

/** One priority level's seats and queues. */
class Level {
  executing = 0;
  waiting = 0;
  /** Waiting requests by flow; a flow is here while it has any. */
  readonly queues = new Map<string, Waiter[]>();
  /** The flows in the order their turns come. */
  private turn: string[] = [];

  constructor(
    readonly config: PriorityLevel,
    readonly seats: number,
  ) {}

  enqueue(flow: string, w: Waiter): boolean {
    let q = this.queues.get(flow);
    if (this.waiting >= this.config.queueCapacity || (q?.length ?? 0) >= this.config.flowQueueLimit) return false;
    if (!q) {
      q = [];
      this.queues.set(flow, q);
      this.turn.push(flow);
    }
    q.push(w);
    this.waiting++;
    return true;
  }

  /** The next flow's oldest waiter (round robin over flows), or undefined. */
  next(): Waiter | undefined {
    const flow = this.turn.shift();
    if (flow === undefined) return undefined;
    const q = this.queues.get(flow)!;
    const w = q.shift()!;
    this.waiting--;
    if (q.length === 0) this.queues.delete(flow);
    else this.turn.push(flow);
    return w;
  }
}

export interface FlowControlOptions {
  readonly levels: readonly PriorityLevel[];
  /** The seats of every level together (--max-requests-inflight + --max-mutating-requests-inflight). */
  readonly serverConcurrency: number;
  readonly registry?: Registry;
  readonly now?: () => number;
}

/** Runs requests under their priority level's seats and queues. */
export class FlowControl {
  private readonly levels = new Map<string, Level>();
  private readonly now: () => number;
  private readonly metrics: FlowControlMetrics | undefined;

  constructor(o: FlowControlOptions) {
    const seats = nominalSeats(o.levels, o.serverConcurrency);
    for (const l of o.levels) this.levels.set(l.name, new Level(l, seats.get(l.name) ?? 0));
    this.now = o.now ?? (() => performance.now());
    this.metrics = o.registry && new FlowControlMetrics(o.registry, seats);
  }

  /** Runs `fn` when its level has a seat (at once for exempt levels); TooManyRequestsError when its queues are full. */
  async execute<T>(c: Classification, fn: () => Promise<T>): Promise<T> {
    const level = this.levels.get(c.priorityLevel);
    if (!level) throw new Error(`invariant: no priority level "${c.priorityLevel}"`);
    if (level.config.exempt) return this.run(level, c, fn, 0, false);
    if (level.executing < level.seats) {
      level.executing++;
      return this.run(level, c, fn, 0, true);
    }
    const since = this.now();
    await new Promise<void>((resolve, reject) => {
      const queued = level.enqueue(c.flow, { schema: c.flowSchema, since, go: resolve });
      if (queued) return this.metrics?.inQueue.inc({ priority_level: level.config.name, flow_schema: c.flowSchema });
      this.metrics?.rejected.inc({ priority_level: level.config.name, flow_schema: c.flowSchema, reason: 'queue-full' });
      reject(new TooManyRequestsError(`too many requests of priority level "${level.config.name}" are waiting; please try again later`));
    });
    return this.run(level, c, fn, this.now() - since, true);
  }

  /** Requests executing and waiting, by level (for tests and status). */
  state(level: string): { executing: number; waiting: number; seats: number } {
    const l = this.levels.get(level);
    return { executing: l?.executing ?? 0, waiting: l?.waiting ?? 0, seats: l?.seats ?? 0 };
  }

  private async run<T>(level: Level, c: Classification, fn: () => Promise<T>, waitedMs: number, seated: boolean): Promise<T> {
    const labels = { priority_level: level.config.name, flow_schema: c.flowSchema };
    this.metrics?.waited.observe({ ...labels, execute: 'true' }, waitedMs / 1000);
    this.metrics?.dispatched.inc(labels);
    this.metrics?.executing.inc(labels);
    try {
      return await fn();
    } finally {
      this.metrics?.executing.dec(labels);
      if (seated) this.release(level);
    }
  }

  /** A seat freed: the next waiting flow's request takes it. */
  private release(level: Level): void {
    level.executing--;
    while (level.executing < level.seats) {
      const w = level.next();
      if (!w) return;
      this.metrics?.inQueue.dec({ priority_level: level.config.name, flow_schema: w.schema });
      level.executing++;
      w.go();
    }
  }
}

/** Kubernetes' apiserver_flowcontrol_* series (the ones tsk's dispatcher can tell). */
class FlowControlMetrics {
  readonly executing: Gauge<'priority_level' | 'flow_schema'>;
  readonly inQueue: Gauge<'priority_level' | 'flow_schema'>;
  readonly dispatched: Counter<'priority_level' | 'flow_schema'>;
  readonly rejected: Counter<'priority_level' | 'flow_schema' | 'reason'>;
  readonly waited: Histogram<'priority_level' | 'flow_schema' | 'execute'>;

  constructor(registry: Registry, seats: ReadonlyMap<string, number>) {
    const labelNames = ['priority_level', 'flow_schema'] as const;
    const registers = [registry];
    this.executing = new Gauge({
      name: 'apiserver_flowcontrol_current_executing_requests',
      help: 'Requests executing, by priority level and flow schema.',
      labelNames,
      registers,
    });
    this.inQueue = new Gauge({
      name: 'apiserver_flowcontrol_current_inqueue_requests',
      help: 'Requests waiting in a queue, by priority level and flow schema.',
      labelNames,
      registers,
    });
    this.dispatched = new Counter({
      name: 'apiserver_flowcontrol_dispatched_requests_total',
      help: 'Requests started, by priority level and flow schema.',
      labelNames,
      registers,
    });
    this.rejected = new Counter({
      name: 'apiserver_flowcontrol_rejected_requests_total',
      help: "Requests refused with 429 (their level's queues were full), by priority level, flow schema and reason.",
      labelNames: [...labelNames, 'reason'] as const,
      registers,
    });
    this.waited = new Histogram({
      name: 'apiserver_flowcontrol_request_wait_duration_seconds',
      help: 'How long requests waited in a queue before executing, by priority level and flow schema.',
      labelNames: [...labelNames, 'execute'] as const,
      buckets: [0, 0.005, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30],
      registers,
    });
    const nominal = new Gauge({
      name: 'apiserver_flowcontrol_nominal_limit_seats',
      help: 'Seats of each priority level.',
      labelNames: ['priority_level'] as const,
      registers,
    });
    for (const [level, n] of seats) nominal.set({ priority_level: level }, n);
  }
}
