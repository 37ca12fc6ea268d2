import test from 'ava';
import { formatTable, summarize, type RoundResult } from './report';
import { violation } from './violation';

const row = (round: number, fault: RoundResult['fault'], convergeS: number | undefined, gap?: number): RoundResult => ({
  round,
  fault,
  target: 's1',
  change: 'scale chaos-1 to 2',
  convergeS,
  violations: convergeS === undefined ? [violation('replicas', 'rc chaos-1/web wants 2 replicas: 1 pod(s), 1 Running and Ready')] : [],
  ...(gap !== undefined ? { schedulingGapS: gap } : {}),
});

const figures = { seed: 1, apiCalls: 10, apiFailures: 1, apiRetries: 2, acknowledgedWrites: 8, watchEvents: 50, watchRelists: 3, finalViolations: [] };

test('the summary counts rounds, kills, violations and convergence percentiles', (t) => {
  const rows = [row(1, 'kill-leader', 12.34, 14.2), row(2, 'kill-etcd', 3), row(3, 'partition-agent', 5), row(4, 'kill-agent', undefined)];
  t.deepEqual(summarize(rows, figures), {
    rounds: 4,
    kills: 3,
    partitions: 1,
    violations: 1,
    not_converged: 1,
    converge_p50_s: 5,
    converge_max_s: 12.3,
    scheduling_gap_max_s: 14.2,
    api_calls: 10,
    api_failures: 1,
    api_retries: 2,
    acknowledged_writes: 8,
    watch_events: 50,
    watch_relists: 3,
    seed: 1,
  });
  t.is(summarize([], figures)['converge_p50_s'], null);
});

test('the table has a header and one aligned row per round', (t) => {
  const lines = formatTable([row(1, 'kill-leader', 12.34, 14.2), row(2, 'kill-agent', undefined)]);
  t.is(lines.length, 3);
  t.regex(lines[0] ?? '', /^round\s+fault\s+target\s+change\s+converge s\s+violations$/);
  t.regex(lines[1] ?? '', /^1\s+kill-leader\s+s1\s+scale chaos-1 to 2\s+12\.3 \(sched gap 14\.2\)\s+0$/);
  t.regex(lines[2] ?? '', /\sno\s+1$/);
});
