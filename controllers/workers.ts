// The worker half every queue-driven controller shares: start N workers on a
// WorkQueue (the queue keeps them off the same key), report failed syncs to
// the controller's log (the key is retried with back-off by runWorker), and
// on stop shut the queue down and wait for the keys in progress.

import { runWorker, type WorkQueue } from '../client';
import { errorMessage } from '../util/errors';

export class QueueWorkers {
  private running: Promise<void>[] | undefined;

  constructor(
    private readonly name: string,
    readonly queue: WorkQueue<string>,
    private readonly sync: (key: string) => Promise<void>,
    private readonly log: (line: string) => void,
  ) {}

  /** Starts `workers` workers (at least one). Calling it twice is an invariant error. */
  run(workers: number): void {
    if (this.running) throw new Error(`invariant: controller ${this.name} started twice`);
    const report = (key: string, err: unknown): void => this.log(`${this.name}: sync "${key}" failed (will retry): ${errorMessage(err)}`);
    this.running = Array.from({ length: Math.max(1, workers) }, () => runWorker(this.queue, this.sync, report));
  }

  get started(): boolean {
    return this.running !== undefined;
  }

  /** Shuts the queue down and waits for the workers to finish their current key. Idempotent. */
  async stop(): Promise<void> {
    this.queue.shutDown();
    await Promise.all(this.running ?? []);
  }
}
