// What a chaos run prints: a table with one row per round, and as the last
// line one JSON object with the run's figures (the benchmarks' convention).

import { percentile } from '../bench/pool';
import { isKill, type FaultKind } from './faults';
import type { Violation } from './violation';

export interface RoundResult {
  readonly round: number;
  readonly fault: FaultKind;
  readonly target: string;
  /** The workload change made during the fault. */
  readonly change: string;
  /** Seconds from the restart (heal; the kill for an etcd member) until every invariant held; undefined: not within the deadline. */
  readonly convergeS: number | undefined;
  readonly violations: readonly Violation[];
  /** After a kill of the scheduler's leader: seconds until a pod created after the kill was bound. */
  readonly schedulingGapS?: number | undefined;
}

export interface RunFigures {
  readonly seed: number;
  readonly apiCalls: number;
  readonly apiFailures: number;
  readonly apiRetries: number;
  readonly acknowledgedWrites: number;
  readonly watchEvents: number;
  readonly watchRelists: number;
  /** Violations found outside any round (the final watch comparison). */
  readonly finalViolations: readonly Violation[];
}

const round1 = (n: number): number => Math.round(n * 10) / 10;

export function formatTable(rows: readonly RoundResult[]): string[] {
  const head = ['round', 'fault', 'target', 'change', 'converge s', 'violations'];
  const cells = rows.map((r) => [
    String(r.round),
    r.fault,
    r.target,
    r.change,
    r.convergeS === undefined ? 'no' : r.convergeS.toFixed(1) + (r.schedulingGapS !== undefined ? ` (sched gap ${r.schedulingGapS.toFixed(1)})` : ''),
    String(r.violations.length),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (c: readonly string[]): string =>
    c
      .map((x, i) => x.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(head), ...cells.map(line)];
}

/** The last line's object. */
export function summarize(rows: readonly RoundResult[], f: RunFigures): Record<string, number | null> {
  const converged = rows.flatMap((r) => (r.convergeS === undefined ? [] : [r.convergeS])).sort((a, b) => a - b);
  const gaps = rows.flatMap((r) => (r.schedulingGapS === undefined ? [] : [r.schedulingGapS]));
  const violations = rows.reduce((n, r) => n + r.violations.length, 0) + f.finalViolations.length;
  return {
    rounds: rows.length,
    kills: rows.filter((r) => isKill(r.fault)).length,
    partitions: rows.filter((r) => !isKill(r.fault)).length,
    violations,
    not_converged: rows.length - converged.length,
    converge_p50_s: converged.length ? round1(percentile(converged, 50)) : null,
    converge_max_s: converged.length ? round1(converged[converged.length - 1] ?? 0) : null,
    scheduling_gap_max_s: gaps.length ? round1(Math.max(...gaps)) : null,
    api_calls: f.apiCalls,
    api_failures: f.apiFailures,
    api_retries: f.apiRetries,
    acknowledged_writes: f.acknowledgedWrites,
    watch_events: f.watchEvents,
    watch_relists: f.watchRelists,
    seed: f.seed,
  };
}
