// The chaos suite (issue 9), small: `node dist/chaos/main.js --rounds 3` on
// a lab of 3 servers and 3 nodes of its own. Its first three rounds kill the
// server leading the scheduler, an etcd member and an agent (the fault
// picker's guarantee); every invariant must hold after each, and the last
// line must be the complete JSON summary. The suite takes its lab down
// itself; if the test ends first (timeout, failure), teardown interrupts it
// (SIGINT: it takes the lab down) and checks nothing of the lab is left.

import test from 'ava';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const MAIN = join(resolve(__dirname, '..'), 'chaos', 'main.js');

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

function finished(child: ChildProcess): Promise<Finished> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  return new Promise((done) => child.on('close', (code) => done({ code, stdout, stderr })));
}

test('the chaos suite: 3 rounds (scheduler leader, etcd member, agent killed) with 0 violations and a complete JSON line', async (t) => {
  t.timeout(25 * 60_000);
  const child = spawn(process.execPath, [MAIN, '--rounds', '3', '--seed', String(Date.now() % 100_000)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const result = finished(child);
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT');
      await result;
    }
  });
  const r = await result;
  const lab = /==> chaos: lab (\S+) in (\S+),/.exec(r.stderr);
  t.log(r.stdout);
  if (r.code !== 0) t.log(r.stderr.split('\n').slice(-60).join('\n'));
  t.is(r.code, 0);
  const lines = r.stdout.trimEnd().split('\n');
  const summary = JSON.parse(lines[lines.length - 1] ?? '{}') as Record<string, number | null>;
  for (const key of ['rounds', 'kills', 'violations', 'converge_p50_s', 'converge_max_s', 'scheduling_gap_max_s', 'api_calls', 'watch_events'])
    t.true(key in summary, `the JSON line has ${key}`);
  t.is(summary['rounds'], 3);
  t.is(summary['kills'], 3);
  t.is(summary['violations'], 0);
  t.is(summary['not_converged'], 0);
  t.true((summary['converge_max_s'] ?? Infinity) < 120);
  t.true((summary['watch_events'] ?? 0) > 0, 'the watches saw the workload');
  // The table: a header and one row per round, the three must kinds among them.
  t.regex(lines[0] ?? '', /^round\s+fault\s+target/);
  for (const kind of ['kill-leader', 'kill-etcd', 'kill-agent'])
    t.true(
      lines.slice(1, 4).some((l) => l.includes(kind)),
      kind,
    );
  // Nothing of the lab is left: its directory and its namespaces.
  t.truthy(lab, 'stderr names the lab');
  if (lab?.[1] && lab[2]) {
    t.false(existsSync(lab[2]), `${lab[2]} removed`);
    t.notRegex(spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout, new RegExp(`tsk-${lab[1]}-`));
  }
});
