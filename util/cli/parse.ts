// The command-line parser of every tsk and tsctl command: node:util
// parseArgs tokenizes (long and short flags, --flag=value, -fvalue, combined
// short booleans -Aw, "--"), and this module gives the tokens pflag's (cobra,
// kubectl) meaning: flags and positionals interleave, booleans take
// --flag=false, string flags may repeat, int flags are checked, and unknown
// flags are errors. Docker's "flags stop at the first positional" (run IMAGE
// COMMAND..., exec CONTAINER COMMAND...) is an option. Parsing is pure: it
// returns values or throws a UsageError, never exits.

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './usage-error';

export type FlagType = 'string' | 'bool' | 'int';

export interface FlagSpec {
  /** The long name (--name) and the flag's key in ParsedArgs. */
  readonly name: string;
  /** One letter: -s. */
  readonly short?: string;
  /** Only -short is accepted, not --name (docker's -d, -e next to --env as a separate flag). */
  readonly shortOnly?: boolean;
  readonly type: FlagType;
  /** Repeatable (string flags): every value is kept, in order. */
  readonly repeated?: boolean;
  /** One line for help. */
  readonly help: string;
  /** Shown in help, e.g. "FILE". */
  readonly valueName?: string;
}

export interface ParsedArgs {
  readonly positionals: string[];
  readonly strings: ReadonlyMap<string, string[]>;
  readonly bools: ReadonlyMap<string, boolean>;
  readonly ints: ReadonlyMap<string, number>;
}

/** The wording of parse errors; pflag's unless a command keeps its own. */
export interface UsageMessages {
  /** `rawName` is the flag as parseArgs read it (-x or --x), `arg` the whole argument it came from. */
  unknownFlag(rawName: string, arg: string): string;
  missingValue(rawName: string): string;
  /** A boolean given a value, when boolValues is 'reject'. */
  unexpectedValue(rawName: string): string;
}

/** spf13/pflag's messages, as kubectl prints them. */
export const PFLAG_MESSAGES: UsageMessages = {
  unknownFlag: (rawName, arg) => (rawName.startsWith('--') ? `unknown flag: ${rawName}` : `unknown shorthand flag: '${rawName.slice(1)}' in ${arg}`),
  missingValue: (rawName) => `flag needs an argument: ${rawName}`,
  unexpectedValue: (rawName) => `flag ${rawName} takes no value`,
};

export interface ParseOptions {
  /** Everything from the first positional on is positional (docker run IMAGE COMMAND..., exec CONTAINER COMMAND...). */
  readonly stopAtFirstPositional?: boolean;
  /** --flag= gives the empty string (pflag, docker); false: a missing value. Default true. */
  readonly emptyValues?: boolean;
  /**
   * A boolean written --flag=VALUE: 'parse' takes true/false (pflag), 'ignore'
   * sets it anyway (docker's CLI), 'reject' is an error. Default 'parse'.
   */
  readonly boolValues?: 'parse' | 'ignore' | 'reject';
  readonly messages?: Partial<UsageMessages>;
}

type Token = NonNullable<ReturnType<typeof parseArgs>['tokens']>[number];
type OptionToken = Extract<Token, { kind: 'option' }>;

/** node:util's option table for the specs (int flags are strings to parseArgs). */
function tokenizerOptions(specs: ReadonlyMap<string, FlagSpec>): NonNullable<ParseArgsConfig['options']> {
  const options: NonNullable<ParseArgsConfig['options']> = {};
  for (const s of specs.values()) {
    options[s.name] = { type: s.type === 'bool' ? 'boolean' : 'string', ...(s.short ? { short: s.short } : {}) };
  }
  return options;
}

/** The spec a token names, when it is written a way the spec allows. */
function specOf(specs: ReadonlyMap<string, FlagSpec>, token: OptionToken): FlagSpec | undefined {
  const spec = specs.get(token.name);
  if (!spec) return undefined;
  const isShort = !token.rawName.startsWith('--');
  return isShort || !spec.shortOnly ? spec : undefined;
}

class Collector {
  readonly positionals: string[] = [];
  readonly strings = new Map<string, string[]>();
  readonly bools = new Map<string, boolean>();
  readonly ints = new Map<string, number>();

  constructor(
    private readonly options: ParseOptions,
    private readonly messages: UsageMessages,
  ) {}

  option(spec: FlagSpec, token: OptionToken): void {
    const shown = token.rawName;
    let value = token.value;
    // pflag reads -o=yaml as -o yaml.
    if (value !== undefined && token.inlineValue && !shown.startsWith('--') && value.startsWith('=')) value = value.slice(1);
    if (spec.type === 'bool') return this.bool(spec, shown, value);
    if (value === undefined || (value === '' && this.options.emptyValues === false)) throw new UsageError(this.messages.missingValue(shown));
    if (spec.type === 'int') {
      if (!/^-?\d+$/.test(value)) throw new UsageError(`invalid argument "${value}" for "${shown}" flag: must be an integer`);
      this.ints.set(spec.name, Number(value));
      return;
    }
    this.strings.set(spec.name, [...(spec.repeated ? (this.strings.get(spec.name) ?? []) : []), value]);
  }

  private bool(spec: FlagSpec, shown: string, value: string | undefined): void {
    const mode = this.options.boolValues ?? 'parse';
    if (value === undefined || mode === 'ignore' || value === 'true') {
      this.bools.set(spec.name, true);
      return;
    }
    if (mode === 'reject') throw new UsageError(this.messages.unexpectedValue(shown));
    if (value !== 'false') throw new UsageError(`invalid argument "${value}" for "${shown}" flag: must be true or false`);
    this.bools.set(spec.name, false);
  }
}

/** Parses argv against the specs (a later spec of the same name wins). */
export function parseCommandLine(argv: readonly string[], specList: readonly FlagSpec[], options: ParseOptions = {}): ParsedArgs {
  const specs = new Map(specList.map((s) => [s.name, s] as const));
  const messages: UsageMessages = { ...PFLAG_MESSAGES, ...options.messages };
  const { tokens } = parseArgs({ args: [...argv], options: tokenizerOptions(specs), strict: false, allowPositionals: true, tokens: true });
  const out = new Collector(options, messages);
  let afterTerminator = false;
  for (const token of tokens) {
    if (token.kind === 'option-terminator') {
      afterTerminator = true;
      continue;
    }
    if (token.kind === 'positional') {
      if (options.stopAtFirstPositional && !afterTerminator) {
        out.positionals.push(...argv.slice(token.index));
        break;
      }
      out.positionals.push(token.value);
      continue;
    }
    const spec = specOf(specs, token);
    if (!spec) throw new UsageError(messages.unknownFlag(token.rawName, argv[token.index] ?? token.rawName));
    out.option(spec, token);
  }
  return { positionals: out.positionals, strings: out.strings, bools: out.bools, ints: out.ints };
}

/** The last value of a string flag. */
export function flagString(args: ParsedArgs, name: string): string | undefined {
  const v = args.strings.get(name);
  return v === undefined ? undefined : v[v.length - 1];
}

/** Every value of a repeated string flag, in order. */
export function flagStrings(args: ParsedArgs, name: string): string[] {
  return args.strings.get(name) ?? [];
}

export function flagBool(args: ParsedArgs, name: string): boolean {
  return args.bools.get(name) ?? false;
}

export function flagInt(args: ParsedArgs, name: string): number | undefined {
  return args.ints.get(name);
}

/** The flags section of a command's help: "-s, --server HOST:PORT   help". */
export function formatFlags(specs: readonly FlagSpec[]): string {
  const rows = specs.map((s) => {
    const long = s.shortOnly ? '' : `--${s.name}`;
    const short = s.short ? `-${s.short}${long ? ', ' : ''}` : '    ';
    const names = `${short}${long}${s.type === 'bool' ? '' : ` ${s.valueName ?? s.type.toUpperCase()}`}`;
    return [names, s.help] as const;
  });
  const width = Math.max(...rows.map(([n]) => n.length));
  return rows.map(([n, h]) => `  ${n.padEnd(width)}   ${h}`).join('\n');
}
