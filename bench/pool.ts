// What the benchmarks share besides CPU time (proc-cpu.ts): running many
// operations with a bounded number in flight, and percentiles of latencies.

/** The p-th percentile (nearest rank) of ascending `sorted`; NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/**
 * Runs op(0) .. op(count - 1) with `concurrency` in flight; with a `label`,
 * says on stderr every 2 s how far it got. Returns the seconds it took.
 */
export async function runPool(count: number, concurrency: number, op: (i: number) => Promise<void>, label?: string): Promise<number> {
  let next = 0;
  let done = 0;
  const start = performance.now();
  const timer = label === undefined ? undefined : setInterval(() => process.stderr.write(`bench: ${label}: ${done}/${count}\n`), 2000);
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < count) {
          await op(next++);
          done++;
        }
      }),
    );
  } finally {
    clearInterval(timer);
  }
  return (performance.now() - start) / 1000;
}
