// Kubernetes' slowStartBatch: run `count` calls in batches of 1, 2, 4, ...
// (each batch in parallel), stopping after the first batch with a failure,
// so a template that cannot be created fails once, not 500 times.

export interface BatchResult {
  /** Calls that succeeded. */
  readonly successes: number;
  /** The first failure, when a batch failed (the calls after that batch were not made). */
  readonly error?: unknown;
}

export async function slowStartBatch(count: number, initialBatch: number, fn: () => Promise<void>): Promise<BatchResult> {
  let remaining = count;
  let successes = 0;
  for (let batch = Math.min(remaining, initialBatch); batch > 0; batch = Math.min(2 * batch, remaining)) {
    const results = await Promise.allSettled(Array.from({ length: batch }, () => fn()));
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    successes += batch - failed.length;
    if (failed.length > 0) return { successes, error: failed[0]!.reason };
    remaining -= batch;
  }
  return { successes };
}
