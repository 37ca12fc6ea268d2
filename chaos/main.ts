// `npm run chaos` (node dist/chaos/main.js [--rounds N] [--seed S]): brings up
// a lab of 3 servers and 3 nodes under a name of its own, runs the chaos
// rounds, prints the table and, as the last line, the JSON summary, and takes
// the lab down whatever happens (also on Ctrl-C). Exits 1 when an invariant
// was violated, 2 on bad flags.

import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flagBool, flagString, formatFlags, parseCommandLine, UsageError, type FlagSpec } from '../util/flags';
import { errorMessage } from '../util/errors';
import { chaosLab, labCommand, upChaosLab, type ChaosLab } from './lab';
import { formatTable, type RoundResult } from './report';
import { runChaos } from './runner';

const FLAGS: readonly FlagSpec[] = [
  { name: 'rounds', type: 'string', valueName: 'N', help: 'rounds of workload change + fault + recovery (default 100)' },
  { name: 'seed', type: 'string', valueName: 'S', help: 'the random seed: the same seed picks the same faults (default: random, printed)' },
  { name: 'help', short: 'h', type: 'bool', help: 'print this help' },
];

export interface ChaosFlags {
  readonly rounds: number;
  readonly seed: number;
}

function positiveInt(flag: string, value: string, min: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min) throw new UsageError(`--${flag}: "${value}" is not an integer of at least ${min}`);
  return n;
}

export function parseChaosFlags(argv: readonly string[], randomSeed: () => number): ChaosFlags | 'help' {
  const parsed = parseCommandLine(argv, FLAGS);
  if (flagBool(parsed, 'help')) return 'help';
  if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument "${parsed.positionals[0] ?? ''}"`);
  const seed = flagString(parsed, 'seed');
  return { rounds: positiveInt('rounds', flagString(parsed, 'rounds') ?? '100', 1), seed: seed === undefined ? randomSeed() : positiveInt('seed', seed, 0) };
}

const log = (line: string): void => void process.stderr.write(`${line}\n`);

/** Runs the suite on a fresh lab; the lab is taken down before it returns. Returns the JSON line's object. */
export async function runOnFreshLab(
  flags: ChaosFlags,
  onLab: (lab: ChaosLab) => void = () => undefined,
): Promise<{ table: string[]; summary: Record<string, number | null> }> {
  const dir = mkdtempSync(join(tmpdir(), 'tsk-chaos-'));
  const lab = chaosLab(`c${randomBytes(3).toString('hex')}`, dir, 3, 3, log);
  onLab(lab);
  let failed = true;
  try {
    log(`==> chaos: lab ${lab.name} in ${dir}, ${flags.rounds} round(s), seed ${flags.seed}`);
    await upChaosLab(lab);
    // Each row as it is done, on stderr: a long run shows its table so far.
    const onRound = (r: RoundResult): void => log(`==> ${formatTable([r])[1] ?? ''}`);
    const result = await runChaos(lab, { rounds: flags.rounds, seed: flags.seed, onRound });
    failed = (result.summary['violations'] ?? 0) > 0;
    return { table: formatTable(result.rounds), summary: result.summary };
  } finally {
    if (failed) keepLogs(lab);
    await labCommand(lab, 'down').catch((err: unknown) => log(`lab down: ${errorMessage(err)}`));
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A failed run's evidence: the machines' logs (LAB/*.log, LAB/NODE/*.log),
 * copied to a directory of their own before the lab is taken down. Only
 * those two levels are read: a node's directory holds pod root filesystems
 * with mounts that must not be walked.
 */
function keepLogs(lab: ChaosLab): void {
  const keep = join(tmpdir(), `tsk-chaos-logs-${lab.name}`);
  try {
    const copied = copyLogs(lab.plan.dir, keep);
    for (const sub of readdirSync(lab.plan.dir, { withFileTypes: true })) {
      if (sub.isDirectory()) copied.push(...copyLogs(join(lab.plan.dir, sub.name), join(keep, sub.name)));
    }
    log(`==> chaos: ${copied.length} machine log(s) kept in ${keep}`);
  } catch (err) {
    log(`==> chaos: could not keep the logs: ${errorMessage(err)}`);
  }
}

/** Copies FROM/*.log into TO; returns the files copied. */
function copyLogs(from: string, to: string): string[] {
  const logs = readdirSync(from, { withFileTypes: true }).filter((e) => e.isFile() && e.name.endsWith('.log'));
  if (logs.length > 0) mkdirSync(to, { recursive: true });
  for (const e of logs) copyFileSync(join(from, e.name), join(to, e.name));
  return logs.map((e) => e.name);
}

async function main(): Promise<number> {
  let flags: ChaosFlags | 'help';
  try {
    flags = parseChaosFlags(process.argv.slice(2), () => randomBytes(4).readUInt32BE() % 1_000_000);
  } catch (err) {
    log(`error: ${errorMessage(err)}`);
    return 2;
  }
  if (flags === 'help') {
    process.stdout.write(
      `Usage: node dist/chaos/main.js [FLAGS]\n\nThe chaos suite (issue 9) on a lab of 3 servers and 3 nodes.\n\nFlags:\n${formatFlags(FLAGS)}\n`,
    );
    return 0;
  }
  let lab: ChaosLab | undefined;
  let stopping = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    log(`==> ${sig}: taking the lab down`);
    const l = lab;
    const down = l ? labCommand(l, 'down').then(() => rmSync(l.dataDir, { recursive: true, force: true })) : Promise.resolve();
    void down.catch((err: unknown) => log(`lab down: ${errorMessage(err)}`)).finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const { table, summary } = await runOnFreshLab(flags, (l) => (lab = l));
  for (const line of table) process.stdout.write(`${line}\n`);
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  return summary['violations'] === 0 ? 0 : 1;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      log(`chaos: ${errorMessage(err)}`);
      process.exit(1);
    },
  );
}
