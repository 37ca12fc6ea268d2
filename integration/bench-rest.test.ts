// `node dist/bench/rest.js --quick`: the REST benchmark at CI size runs to
// the end, and its last line is a JSON object with every figure for both
// transports. Only completeness is checked; the figures are the benchmark's.

import test from 'ava';
import { join } from 'node:path';
import { runProcess } from './support/run';

const PODS = 500;
const KEYS = [
  'rest_creates_per_s',
  'grpc_creates_per_s',
  'rest_grpc_creates_ratio',
  'rest_create_server_cpu_ms',
  'grpc_create_server_cpu_ms',
  `rest_list_${PODS}_ms`,
  `grpc_list_${PODS}_ms`,
  'rest_grpc_list_ratio',
  `rest_list_${PODS}_bytes`,
  `grpc_list_${PODS}_bytes`,
  'rest_watch_p50_ms',
  'rest_watch_p99_ms',
  'grpc_watch_p50_ms',
  'grpc_watch_p99_ms',
  'rest_grpc_watch_p50_ratio',
  'rest_grpc_watch_p99_ratio',
];

test('bench:rest --quick: both transports measured and the JSON line complete', async (t) => {
  t.timeout(600_000, 'bench:rest --quick');
  const r = await runProcess(process.execPath, [join(__dirname, '..', 'bench', 'rest.js'), '--quick'], { timeoutMs: 580_000 });
  t.is(r.code, 0, r.stderr.slice(-3000));
  const lines = r.stdout.trim().split('\n');
  const json = JSON.parse(lines[lines.length - 1] ?? '{}') as Record<string, unknown>;
  for (const k of KEYS)
    t.true(typeof json[k] === 'number' && Number.isFinite(json[k]) && (json[k] as number) > 0, `${k} is a positive number: ${String(json[k])}`);
  t.is(json['pods'], PODS);
  t.is(json['rest_watch_received'], 200, 'the REST watcher saw every pod');
  t.is(json['grpc_watch_received'], 200, 'the gRPC watcher saw every pod');
  t.regex(r.stdout, /\| figure \| REST \(JSON\) \| gRPC \| REST \/ gRPC \|/);
});
