// Binds in batches: the pods a run of cycles assumed go to the API server
// in one BindBatch call rather than one Bind call each, which saves a gRPC
// call (an HTTP/2 stream, its headers, authentication, a Pod encoded and
// decoded in the reply) per pod on both sides (the per-call overhead was a
// third of the API server's and of the scheduler's CPU per pod at 5,000
// nodes). Each pod is still bound (and may fail) on its own.
//
// A batch leaves when it is full, or when the caller flushes: the scheduling
// loop flushes when the queue has no pod ready (so a lone pod is not held
// back) and before it waits for a bind slot. A server without BindBatch
// (an older API server in an HA upgrade) gets single Binds from then on.

import { ApiError } from '../api/errors';
import type { BindRequestOf, PodClient } from '../client';

/** The verbs the binder uses. */
export type BindApi = Pick<PodClient, 'bind' | 'bindBatch'>;

/** Pods per BindBatch call at most (the server takes up to 1,000). */
export const DEFAULT_BIND_BATCH = 64;

interface Waiting {
  readonly request: BindRequestOf;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

export class BatchBinder {
  private batch: Waiting[] = [];
  private single = false;

  constructor(
    private readonly api: BindApi,
    private readonly maxBatch = DEFAULT_BIND_BATCH,
    private readonly log: (line: string) => void = () => undefined,
  ) {
    if (!(maxBatch >= 1)) throw new Error(`invariant: maxBatch must be at least 1, not ${maxBatch}`);
  }

  /** Pods waiting for the next flush. */
  get waiting(): number {
    return this.batch.length;
  }

  /**
   * Queues one pod's bind; resolves once it is bound, rejects with the
   * error a single Bind would have (ConflictError when already bound, ...).
   * Sent when the batch is full or at the next flush().
   */
  bind(request: BindRequestOf): Promise<void> {
    const done = new Promise<void>((resolve, reject) => this.batch.push({ request, resolve, reject }));
    if (this.batch.length >= this.maxBatch) this.flush();
    return done;
  }

  /** Sends what is waiting now. Never throws: each pod's outcome goes to its own promise. */
  flush(): void {
    if (this.batch.length === 0) return;
    const items = this.batch;
    this.batch = [];
    void this.send(items);
  }

  private async send(items: readonly Waiting[]): Promise<void> {
    // One pod gains nothing from a batch; a server without BindBatch gets single Binds.
    if (items.length === 1 || this.single) return this.sendSingly(items);
    let results: (ApiError | undefined)[];
    try {
      results = await this.api.bindBatch(items.map((i) => i.request));
    } catch (err) {
      if (err instanceof ApiError && err.reason === 'MethodNotAllowed') {
        this.log(`the API server has no BindBatch (${err.message}); binding one pod per call`);
        this.single = true;
        return this.sendSingly(items);
      }
      for (const i of items) i.reject(err);
      return;
    }
    items.forEach((item, n) => {
      const err = results[n];
      if (err) item.reject(err);
      else item.resolve();
    });
  }

  private async sendSingly(items: readonly Waiting[]): Promise<void> {
    await Promise.all(items.map(({ request: r, resolve, reject }) => this.api.bind(r.namespace, r.name, r.nodeName, r.uid).then(() => resolve(), reject)));
  }
}
