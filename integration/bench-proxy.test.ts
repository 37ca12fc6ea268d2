// npm run bench:proxy at a tiny size: the real bench (bench/proxy.js) runs
// whole, in both proxy modes, in the network namespace it creates, and prints its table and a
// complete JSON line; afterwards its namespace is gone and the host's
// iptables are as they were.

import test from 'ava';
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const BENCH = resolve(__dirname, '..', 'bench', 'proxy.js');

/** The host's rules without counters and comments: what must not change. */
async function hostRules(): Promise<string> {
  const { stdout } = await exec('iptables-save', []);
  return stdout
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .map((l) => l.replace(/\[\d+:\d+\]$/, ''))
    .join('\n');
}

async function benchNamespaces(): Promise<string[]> {
  const { stdout } = await exec('ip', ['netns', 'list']);
  return stdout
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith('tsk-bproxy-'));
}

test('bench:proxy --services 50 prints the table and a complete JSON line, and leaves nothing behind', async (t) => {
  const rulesBefore = await hostRules();
  const namespacesBefore = await benchNamespaces();
  const { stdout } = await exec(process.execPath, [BENCH, '--services', '50', '--endpoints', '2', '--repeats', '2', '--changes', '4'], { timeout: 240_000 });
  const lines = stdout.trim().split('\n');
  t.regex(stdout, /full sync, 50 services/);
  t.regex(stdout, /one change at 50/);
  const result = JSON.parse(lines.at(-1) ?? '') as Record<string, unknown>;
  for (const key of [
    'full_sync_5_ms',
    'full_sync_50_ms',
    'one_change_50_ms',
    'restore_floor_5_ms',
    'restore_floor_50_ms',
    'one_change_floor_50_ms',
    'full_sync_5_ratio',
    'full_sync_50_ratio',
    'one_change_50_ratio',
  ]) {
    for (const k of [key, `nft_${key}`]) {
      const v = result[k];
      t.true(typeof v === 'number' && Number.isFinite(v) && v > 0, `${k}: ${String(v)}`);
    }
  }
  t.is(result['services'], 50);
  t.is(result['changes'], 4);
  // 50 services of 2 endpoints: 50 cluster IP rules, 50 x (2 + 2 x 2) in the service and endpoint chains, and the fixed ones.
  t.true(typeof result['iptables_rules_50'] === 'number' && (result['iptables_rules_50'] as number) > 50 * 7, String(result['iptables_rules_50']));
  t.true(typeof result['rules_50'] === 'number' && (result['rules_50'] as number) > (result['iptables_rules_50'] as number));
  // One endpoint added: the service chain and the new endpoint chain only, not the whole ruleset.
  t.true((result['one_change_lines_50'] as number) < 20, String(result['one_change_lines_50']));
  // The nftables mode beside it in the same run: one chain rewritten and one hairpin element added.
  t.regex(stdout, /nftables: one change at 50/);
  t.is(result['modes'], 'iptables,nftables');
  t.true((result['nft_one_change_lines_50'] as number) < 20, String(result['nft_one_change_lines_50']));
  // The second floor of the nftables mode: the same text through a running helper (tsk-nft).
  for (const k of ['nft_helper_floor_5_ms', 'nft_helper_floor_50_ms', 'nft_one_change_helper_floor_50_ms']) {
    const v = result[k];
    t.true(typeof v === 'number' && Number.isFinite(v) && v > 0, `${k}: ${String(v)}`);
  }
  t.deepEqual(await benchNamespaces(), namespacesBefore, 'the bench removed its namespace');
  t.is(await hostRules(), rulesBefore, "the host's iptables are untouched");
});

test('bench:proxy refuses a bad flag with a one-line error naming it', async (t) => {
  const err = await t.throwsAsync(exec(process.execPath, [BENCH, '--services', 'many'], { timeout: 30_000 }));
  t.regex((err as Error & { stderr?: string }).stderr ?? '', /^bench:proxy: --services must be a positive integer, got many\n$/);
});
