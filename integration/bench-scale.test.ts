// `node dist/bench/scale.js --quick --hollow-processes 2`: the scale
// benchmark at CI size, its hollow nodes in two processes, runs to the end:
// every pod Running, and its last line a JSON object with every figure. Only
// completeness is checked; the figures are the benchmark's.

import test from 'ava';
import { join } from 'node:path';
import { runProcess } from './support/run';

const KEYS = [
  'nodes',
  'pods',
  'services',
  'scheduled_pods_per_s',
  'running_pods_per_s',
  'api_p99_ms',
  'server_rss_mb',
  'etcd_db_mb',
  'full_list_ms',
  'hollow_rss_per_node_kib',
  'hollow_fill_rss_per_node_kib',
  'hollow_max_stall_s',
  'hollow_processes',
  'hollow_rss_mb',
  'node_unknown_transitions',
  'pods_recreated',
  'server_max_stall_fill_s',
  'server_cpu_per_pod_ms',
];

test('bench:scale --quick with 2 hollow processes: every pod Running and the JSON line complete', async (t) => {
  t.timeout(900_000, 'bench:scale --quick');
  const r = await runProcess(process.execPath, [join(__dirname, '..', 'bench', 'scale.js'), '--quick', '--hollow-processes', '2'], {
    timeoutMs: 880_000,
  });
  t.is(r.code, 0, r.stderr.slice(-3000));
  const lines = r.stdout.trim().split('\n');
  const json = JSON.parse(lines[lines.length - 1] ?? '{}') as Record<string, unknown>;
  for (const k of KEYS) t.true(typeof json[k] === 'number' && Number.isFinite(json[k]), `${k} is a number: ${String(json[k])}`);
  t.is(json['nodes'], 200);
  t.is(json['hollow_processes'], 2);
  t.is(json['pods'], 2000);
  t.is(json['pods_running'], 2000);
  t.true(json['all_running']);
  t.regex(r.stdout, /\| verb \| fill p50 ms/);
});
