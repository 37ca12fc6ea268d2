// `tsk server`'s controllers and scheduler, run on a thread of their own
// (a worker_thread) beside the API server's. k3s runs them in its one
// process too, but Go spreads the process over every core; a Node process is
// one event loop unless it asks for more. On one loop, the API server's
// handlers queued behind the controllers' and the scheduler's own work
// (decoding every watch event into their informers, scheduling, the client
// half of each of their calls): at 500 hollow nodes that loop was busy 100%
// of the fill (event-loop utilization 1.00), and API calls waited there
// (etcd answered a transaction in 20 ms at the median, the handler saw 150-
// 200 ms). On their own thread they use the second core and the API server's
// loop serves API calls only. They talk to the API server over its loopback
// address as before, each with its own identity.
//
// The thread's messages: {type: 'metrics', id} -> {type: 'metrics', id,
// text} (its registries, served on the server's /metrics); {type: 'stop'} ->
// {type: 'stopped'}. It posts {type: 'started', controllers} once the
// scheduler's informers synced, {type: 'failed', message} when starting
// failed, and its log lines as {type: 'log', line}: the server prints them,
// so they keep their order with its own (a worker's console output reaches
// the process's stdout on a channel of its own, later). A thread that exits otherwise is a dead component: the process
// says so and exits.

import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { Clientset, EventRecorderMetrics, LeaderElectionMetrics, SharedInformerFactory, trimForCache, type ClientCredentials } from '../client';
import { startControllerManager, type RunningControllerManager } from '../controllers';
import { startScheduler, type RunningScheduler } from '../scheduler';
import type { ServerFlags } from './server-flags';

/** What the components' thread is given (structured-cloned: strings and plain objects). */
export interface ComponentsData {
  /** `tsk server`'s command line, parsed again on the thread (the flags hold no functions to send). */
  readonly argv: readonly string[];
  /** The API server's gRPC address (loopback). */
  readonly address: string;
  readonly controllerCredentials: ClientCredentials;
  readonly schedulerCredentials: ClientCredentials;
  /** The identity both leader electors hold their Leases with. */
  readonly leaderIdentity: string;
}

/** Messages from the thread to the server. */
export type ComponentsMessage =
  | { type: 'log'; line: string }
  | { type: 'started'; controllers: string[] }
  | { type: 'failed'; message: string }
  | { type: 'metrics'; id: number; text: string }
  | { type: 'stopped' };

/** Messages from the server to the thread. */
export type ServerMessage = { type: 'metrics'; id: number } | { type: 'stop' };

/** The controllers and scheduler of one server, started (on whichever thread calls this). */
export interface RunningComponents {
  readonly controllers: RunningControllerManager;
  readonly scheduler: RunningScheduler;
  /** Every registry of the components: the scheduler's, the controllers', the leader electors'. */
  metrics(): Promise<string>;
  /** Stops the scheduler, the controllers, the informers and closes the clients. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts the controllers and then the scheduler over one set of shared
 * informers; resolves once the scheduler's informers synced. On a failure
 * what started is stopped again.
 */
export async function startComponents(flags: ServerFlags, data: ComponentsData, signal: AbortSignal, log: (line: string) => void): Promise<RunningComponents> {
  const schedulerMetrics = new Registry();
  const controllerMetrics = new Registry();
  // One registry for both electors: leader_election_master_status, a line per Lease.
  const electionMetrics = new Registry();
  const leaderMetrics = new LeaderElectionMetrics(electionMetrics);
  // And one for both components' event recorders: event_recorder_dropped_events_total, a line per component.
  const eventRegistry = new Registry();
  const eventMetrics = new EventRecorderMetrics(eventRegistry);
  const clientset = new Clientset(data.address, data.controllerCredentials);
  const schedulerClientset = new Clientset(data.address, data.schedulerCredentials);
  // Slim cached objects, as kube-controller-manager's and kube-scheduler's informers keep.
  const informers = new SharedInformerFactory(clientset, { transform: trimForCache });
  let controllers: RunningControllerManager | undefined;
  let scheduler: RunningScheduler | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      await scheduler?.stop();
      await controllers?.stop();
      await informers.stop();
      clientset.close();
      schedulerClientset.close();
    })());
  try {
    controllers = await startControllerManager({
      clientset,
      informers,
      controllers: flags.controllers.controllers,
      workers: flags.controllers.workers,
      table: flags.controllers.table,
      registry: controllerMetrics,
      stopInformers: false,
      signal,
      log: (l) => log(`controllers: ${l}`),
      leaderElection: flags.controllerManager,
      leaderMetrics,
      leaderIdentity: data.leaderIdentity,
      eventMetrics,
    });
    log(`controllers running: ${controllers.controllers.map((c) => c.name).join(', ')}`);
    scheduler = startScheduler({
      clientset: schedulerClientset,
      informers,
      registry: schedulerMetrics,
      log: (l) => log(`scheduler: ${l}`),
      leaderElection: flags.scheduler,
      leaderMetrics,
      leaderIdentity: data.leaderIdentity,
      eventMetrics,
      percentageOfNodesToScore: flags.percentageOfNodesToScore,
    });
    await scheduler.started;
  } catch (err) {
    await stop();
    throw err;
  }
  const running = { controllers, scheduler };
  return {
    ...running,
    metrics: async () => (await Promise.all([schedulerMetrics, controllerMetrics, electionMetrics, eventRegistry].map((r) => r.metrics()))).join('\n'),
    stop,
  };
}

/** The worker script (compiled beside this file). */
const WORKER_SCRIPT = join(__dirname, 'server-components-worker.js');

/** How long a scrape waits for the thread's metrics before it is served without them. */
const METRICS_TIMEOUT_MS = 10_000;

/** The server's side of the components' thread. */
export class ComponentsThread {
  private readonly worker: Worker;
  private readonly pending = new Map<number, (text: string) => void>();
  private nextId = 0;
  private stopRequested = false;
  /** Resolves with the controllers' names once the scheduler's informers synced; rejects when starting failed. */
  readonly started: Promise<string[]>;
  /** Resolves with a message when the thread ended unexpectedly (the process should then exit non-zero). */
  readonly died: Promise<string>;
  private readonly stopped: Promise<void>;

  /** `log` prints the thread's lines, in their order among the server's own. */
  constructor(data: ComponentsData, log: (line: string) => void) {
    this.worker = new Worker(WORKER_SCRIPT, { workerData: data });
    let started!: { resolve: (names: string[]) => void; reject: (err: Error) => void };
    this.started = new Promise<string[]>((resolve, reject) => (started = { resolve, reject }));
    let died!: (why: string) => void;
    this.died = new Promise<string>((r) => (died = r));
    let stopped!: () => void;
    this.stopped = new Promise<void>((r) => (stopped = r));
    this.worker.on('message', (m: ComponentsMessage) => {
      switch (m.type) {
        case 'log':
          log(m.line);
          return;
        case 'started':
          started.resolve(m.controllers);
          return;
        case 'failed':
          started.reject(new Error(m.message));
          return;
        case 'metrics':
          this.pending.get(m.id)?.(m.text);
          this.pending.delete(m.id);
          return;
        case 'stopped':
          stopped();
          return;
      }
    });
    this.worker.on('error', (err) => {
      started.reject(err);
      if (!this.stopRequested) died(`the controllers' and scheduler's thread failed: ${err.message}`);
    });
    this.worker.on('exit', (code) => {
      stopped();
      started.reject(new Error(`the controllers' and scheduler's thread exited (${code}) while starting`));
      if (!this.stopRequested) died(`the controllers' and scheduler's thread exited (${code})`);
      for (const answer of this.pending.values()) answer('');
      this.pending.clear();
    });
  }

  /** The thread's metrics as Prometheus text ("" when it does not answer within 10 s or has ended). */
  metrics(): Promise<string> {
    const id = this.nextId++;
    return new Promise<string>((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve('');
      }, METRICS_TIMEOUT_MS);
      this.pending.set(id, (text) => {
        clearTimeout(timer);
        resolve(text);
      });
      this.worker.postMessage({ type: 'metrics', id } satisfies ServerMessage);
    });
  }

  /** Stops the components (waiting for their calls in progress) and ends the thread. Idempotent. */
  async stop(): Promise<void> {
    if (!this.stopRequested) {
      this.stopRequested = true;
      this.worker.postMessage({ type: 'stop' } satisfies ServerMessage);
    }
    await this.stopped;
    await this.worker.terminate();
  }
}
