// What every tsk command's flag parsing shares: node:util parseArgs with its
// errors as UsageErrors, and the value kinds Kubernetes' components take
// (HOST:PORT addresses, the API server's address, Go durations). Parsing is
// pure: it returns values or throws a UsageError naming the flag, never exits.
// The pflag-shaped parser of commands with positionals and short flags
// (tsctl, tsk runtime, tsk lab) lives in cli/parse.ts; this module is the
// one place callers import command-line parsing from.

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './cli/usage-error';
import { parseIPv4, tryParseIPv4Cidr } from './ipv4';
import { errorMessage } from './errors';

export { UsageError };
export {
  PFLAG_MESSAGES,
  flagBool,
  flagInt,
  flagString,
  flagStrings,
  formatFlags,
  parseCommandLine,
  type FlagSpec,
  type FlagType,
  type ParseOptions,
  type ParsedArgs,
  type UsageMessages,
} from './cli/parse';

type Options = NonNullable<ParseArgsConfig['options']>;
type Values<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: false }>>['values'];

/** parseArgs (strict, no positionals) with its errors (unknown flag, missing value) as UsageErrors. */
export function parseFlagValues<O extends Options>(argv: string[], options: O): Values<O> {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new UsageError(errorMessage(err));
  }
}

/** A HOST:PORT value; `example` shows the expected form in the error. */
export function hostPort(flag: string, value: string, example = '127.0.0.1:6443'): string {
  const m = /^(.+):(\d+)$/.exec(value);
  if (!m || Number(m[2]) > 65535) throw new UsageError(`--${flag}: "${value}" is not HOST:PORT (for example ${example})`);
  return value;
}

/** The API server's address as clients take it: HOST:PORT, https://HOST:PORT (k3s's form) or unix:/ABSOLUTE/PATH. */
export function serverAddress(flag: string, value: string): string {
  // gRPC speaks TLS by itself: the scheme only says so, and is dropped.
  if (value.startsWith('https://')) return hostPort(flag, value.slice('https://'.length).replace(/\/+$/, ''));
  if (value.startsWith('unix:')) {
    if (!value.startsWith('unix:/')) throw new UsageError(`--${flag}: "${value}" must be unix:/ABSOLUTE/PATH`);
    return value;
  }
  return hostPort(flag, value);
}

const UNIT_MS: Readonly<Record<string, number>> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

/** A Go duration ("40s", "1m0s", "1.5s", "500ms", "1h30m", "0") in milliseconds; undefined when malformed. */
export function goDurationMs(text: string): number | undefined {
  if (text === '0') return 0;
  const pieces = text.match(/\d+(?:\.\d+)?(?:ms|h|m|s)/g);
  if (!pieces || pieces.join('') !== text) return undefined;
  let ms = 0;
  for (const piece of pieces) {
    const unit = /[a-z]+$/.exec(piece)?.[0] ?? '';
    ms += Number(piece.slice(0, -unit.length)) * (UNIT_MS[unit] ?? 0);
  }
  return Math.round(ms);
}

/** What a duration flag accepts beyond being well-formed. */
export interface DurationLimits {
  /** More than zero. */
  readonly positive?: boolean;
  /** The shortest accepted, as a Go duration ("1s"); the message quotes it. */
  readonly atLeast?: string;
  /** With atLeast: 0 is accepted too, and means this ("never expires"). */
  readonly zeroMeans?: string;
  /** Examples for the malformed-value message (default "30s, 1m30s or 500ms"). */
  readonly example?: string;
}

/** A Go duration flag in milliseconds; a UsageError naming the flag when malformed or outside `limits`. */
export function durationMs(flag: string, value: string, limits: DurationLimits = {}): number {
  const ms = goDurationMs(value);
  if (ms === undefined) throw new UsageError(`--${flag}: "${value}" is not a duration such as ${limits.example ?? '30s, 1m30s or 500ms'}`);
  if (limits.positive && ms <= 0) throw new UsageError(`--${flag}: "${value}" must be more than zero`);
  if (limits.atLeast !== undefined && ms < (goDurationMs(limits.atLeast) ?? 0) && !(ms === 0 && limits.zeroMeans !== undefined)) {
    const zero = limits.zeroMeans === undefined ? '' : `0 (${limits.zeroMeans}) or `;
    throw new UsageError(`--${flag}: "${value}" must be ${zero}at least ${limits.atLeast}`);
  }
  return ms;
}

/** An IPv4 CIDR flag such as 10.244.0.0/16, returned as written; a UsageError naming the flag otherwise. */
export function ipv4CidrFlag(flag: string, value: string, example = '10.244.0.0/16'): string {
  if (tryParseIPv4Cidr(value) === undefined) throw new UsageError(`--${flag}: "${value}" is not an IPv4 CIDR such as ${example}`);
  return value;
}

/** An IPv4 address flag (--cluster-dns); a UsageError naming the flag otherwise. */
export function ipv4Flag(flag: string, value: string, example = '10.96.0.10'): string {
  if (parseIPv4(value) === undefined) throw new UsageError(`--${flag}: "${value}" is not an IPv4 address such as ${example}`);
  return value;
}

/** A DNS domain flag (--cluster-domain): lower-case DNS-1123 labels, without a trailing dot, as the kubelet's. */
export function clusterDomainFlag(flag: string, value: string): string {
  const domain = value.replace(/\.$/, '');
  const label = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
  if (domain === '' || domain.length > 253 || !domain.split('.').every((l) => label.test(l))) {
    throw new UsageError(`--${flag}: "${value}" is not a DNS domain such as cluster.local (lower-case labels of letters, digits and '-')`);
  }
  return domain;
}

/**
 * Splits a command line between two parsers (tsk server and tsk agent take
 * several components' flags): flags named in `names`, each with its value
 * (--flag V or --flag=V), go to `picked`; everything else, in order, to `rest`.
 */
export function splitArgv(argv: readonly string[], names: ReadonlySet<string>): { picked: string[]; rest: string[] } {
  const picked: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    const name = a.startsWith('--') ? (a.slice(2).split('=')[0] ?? '') : '';
    if (!names.has(name)) {
      rest.push(a);
      continue;
    }
    picked.push(a);
    if (!a.includes('=') && i + 1 < argv.length) picked.push(argv[++i] ?? '');
  }
  return { picked, rest };
}
