// The --leader-elect* flags of kube-scheduler and kube-controller-manager
// (component-base's LeaderElectionConfiguration), for `tsk scheduler`,
// `tsk controller-manager` and `tsk server`. They are taken out of the
// command line before the component's own parser sees it, because
// --leader-elect is a boolean that may stand alone or carry =true/=false.

import { durationMs, UsageError } from '../util/flags';
import { DEFAULT_LEADER_ELECTION_TIMINGS, JITTER_FACTOR } from './leaderelection';
import type { LeaderElectionConfig } from './leader-gate';

/** Kubernetes' namespace of the control plane's leases. */
export const DEFAULT_LEADER_ELECT_NAMESPACE = 'kube-system';

const DURATIONS = {
  'leader-elect-lease-duration': 'leaseDurationMs',
  'leader-elect-renew-deadline': 'renewDeadlineMs',
  'leader-elect-retry-period': 'retryPeriodMs',
} as const;

type DurationFlag = keyof typeof DURATIONS;

export interface LeaderElectionFlagOptions {
  /** The default --leader-elect-resource-name ("kube-scheduler"). */
  readonly resourceName: string;
  /** Whether --leader-elect-resource-name is taken (not by `tsk server`, which elects two leases of fixed names). */
  readonly acceptResourceName: boolean;
}

/** The help lines of these flags, aligned at `column`. */
export function leaderElectionFlagHelp(opts: LeaderElectionFlagOptions, column = 28): string {
  const line = (flag: string, text: string): string => {
    const head = `  ${flag}`;
    // A flag too long for the column gets its text on the next line, aligned.
    return head.length >= column ? `${head}\n${' '.repeat(column)}${text}` : head.padEnd(column) + text;
  };
  return [
    line('--leader-elect[=BOOL]', 'act only while holding the leader Lease, so several copies can run (default true)'),
    line('--leader-elect-lease-duration D', 'how long a standby waits after the leader last renewed before taking over (default 15s)'),
    line('--leader-elect-renew-deadline D', 'how long the leader retries renewing before it stops acting (default 10s)'),
    line('--leader-elect-retry-period D', 'between attempts to acquire or renew the Lease (default 2s)'),
    ...(opts.acceptResourceName ? [line('--leader-elect-resource-name NAME', `the Lease's name (default ${opts.resourceName})`)] : []),
    line('--leader-elect-resource-namespace NS', `the Lease's namespace (default ${DEFAULT_LEADER_ELECT_NAMESPACE})`),
  ].join('\n');
}

function boolValue(value: string): boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new UsageError(`--leader-elect: "${value}" must be true or false`);
}

function nonEmpty(flag: string, value: string): string {
  if (value === '') throw new UsageError(`--${flag}: must not be empty`);
  return value;
}

/** client-go's rules between the three durations, as a UsageError naming the flags. */
function checkTimings(c: LeaderElectionConfig): void {
  const s = (ms: number): string => `${ms / 1000}s`;
  // A Lease holds whole seconds.
  if (c.leaseDurationMs < 1000) throw new UsageError(`--leader-elect-lease-duration (${s(c.leaseDurationMs)}) must be at least 1s`);
  if (c.leaseDurationMs <= c.renewDeadlineMs) {
    throw new UsageError(
      `--leader-elect-lease-duration (${s(c.leaseDurationMs)}) must be greater than --leader-elect-renew-deadline (${s(c.renewDeadlineMs)})`,
    );
  }
  if (c.renewDeadlineMs <= JITTER_FACTOR * c.retryPeriodMs) {
    throw new UsageError(
      `--leader-elect-renew-deadline (${s(c.renewDeadlineMs)}) must be greater than ${JITTER_FACTOR} x --leader-elect-retry-period (${s(c.retryPeriodMs)})`,
    );
  }
}

/**
 * Takes the --leader-elect* flags out of argv (--flag V or --flag=V;
 * --leader-elect alone means true) and returns them with the rest of argv,
 * in order, for the component's parser. Throws a UsageError naming the flag.
 */
export function parseLeaderElectionFlags(argv: readonly string[], opts: LeaderElectionFlagOptions): { config: LeaderElectionConfig; rest: string[] } {
  let leaderElect = true;
  const timings: Record<(typeof DURATIONS)[DurationFlag], number> = { ...DEFAULT_LEADER_ELECTION_TIMINGS };
  let resourceName = opts.resourceName;
  let resourceNamespace = DEFAULT_LEADER_ELECT_NAMESPACE;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const m = /^--(leader-elect(?:-[a-z-]+)?)(?:=(.*))?$/s.exec(arg);
    const name = m?.[1];
    if (!m || name === undefined || (name === 'leader-elect-resource-name' && !opts.acceptResourceName)) {
      rest.push(arg);
      continue;
    }
    if (name === 'leader-elect') {
      leaderElect = m[2] === undefined ? true : boolValue(m[2]);
      continue;
    }
    const known = name in DURATIONS || name === 'leader-elect-resource-name' || name === 'leader-elect-resource-namespace';
    if (!known) {
      rest.push(arg);
      continue;
    }
    let value = m[2];
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`--${name}: a value is required`);
      value = argv[++i] ?? '';
    }
    if (name in DURATIONS) timings[DURATIONS[name as DurationFlag]] = durationMs(name, value, { positive: true, example: '15s, 10s or 2s' });
    else if (name === 'leader-elect-resource-name') resourceName = nonEmpty(name, value);
    else resourceNamespace = nonEmpty(name, value);
  }
  const config: LeaderElectionConfig = { leaderElect, ...timings, resourceName, resourceNamespace };
  if (leaderElect) checkTimings(config);
  return { config, rest };
}
