// Command-line parsing in kubectl's (pflag's) shape: flags and positional
// arguments may be interleaved; --flag=value, --flag value, -f value, -fvalue;
// boolean flags take no value unless written --flag=false; "--" ends flags.

import { UsageError } from './errors';

export type FlagType = 'string' | 'bool' | 'int';

export interface FlagSpec {
  readonly name: string;
  readonly short?: string;
  readonly type: FlagType;
  /** Repeatable (string flags): every value is kept. */
  readonly repeated?: boolean;
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

/** The flags every command accepts. */
export const GLOBAL_FLAGS: readonly FlagSpec[] = [
  { name: 'server', short: 's', type: 'string', valueName: 'HOST:PORT', help: "The API server (default: $TSCTL_SERVER, then the context's, then 127.0.0.1:6443)" },
  { name: 'kubeconfig', type: 'string', valueName: 'FILE', help: 'The client config: contexts of server, CA and credential (default: $TSK_CONFIG, then ~/.tsk/config)' },
  { name: 'context', type: 'string', valueName: 'NAME', help: "The context to use (default: the config's current-context)" },
  { name: 'token', type: 'string', valueName: 'TOKEN', help: "A bearer token to authenticate with instead of the context's credential" },
  { name: 'namespace', short: 'n', type: 'string', valueName: 'NS', help: 'The namespace (default "default")' },
  { name: 'request-timeout', type: 'int', valueName: 'SECONDS', help: 'Deadline of each request in seconds (default 30)' },
  { name: 'help', short: 'h', type: 'bool', help: 'Show help for the command' },
];

function find(specs: readonly FlagSpec[], name: string, short: boolean): FlagSpec | undefined {
  return specs.find((s) => (short ? s.short === name : s.name === name));
}

export function parseArgs(argv: readonly string[], specs: readonly FlagSpec[]): ParsedArgs {
  const all = [...GLOBAL_FLAGS, ...specs];
  const positionals: string[] = [];
  const strings = new Map<string, string[]>();
  const bools = new Map<string, boolean>();
  const ints = new Map<string, number>();
  let i = 0;
  const set = (spec: FlagSpec, shown: string, value: string | undefined): void => {
    if (spec.type === 'bool') {
      if (value === undefined || value === 'true') bools.set(spec.name, true);
      else if (value === 'false') bools.set(spec.name, false);
      else throw new UsageError(`invalid argument "${value}" for "${shown}" flag: must be true or false`);
      return;
    }
    if (value === undefined) {
      const next = argv[i + 1];
      if (next === undefined) throw new UsageError(`flag needs an argument: ${shown}`);
      value = next;
      i++;
    }
    if (spec.type === 'int') {
      if (!/^-?\d+$/.test(value)) throw new UsageError(`invalid argument "${value}" for "${shown}" flag: must be an integer`);
      ints.set(spec.name, Number(value));
      return;
    }
    const list = spec.repeated ? (strings.get(spec.name) ?? []) : [];
    list.push(value);
    strings.set(spec.name, list);
  };
  for (; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      const spec = find(all, name, false);
      if (!spec) throw new UsageError(`unknown flag: --${name}`);
      set(spec, `--${name}`, eq < 0 ? undefined : arg.slice(eq + 1));
    } else if (arg.startsWith('-') && arg.length > 1 && arg !== '-') {
      const name = arg.slice(1, 2);
      const spec = find(all, name, true);
      if (!spec) throw new UsageError(`unknown shorthand flag: '${name}' in ${arg}`);
      let rest: string | undefined = arg.slice(2);
      if (rest.startsWith('=')) rest = rest.slice(1);
      else if (rest === '') rest = undefined;
      if (spec.type === 'bool' && rest !== undefined) {
        // Combined short booleans such as -Aw.
        bools.set(spec.name, true);
        for (const ch of rest) {
          const more = find(all, ch, true);
          if (!more || more.type !== 'bool') throw new UsageError(`unknown shorthand flag: '${ch}' in ${arg}`);
          bools.set(more.name, true);
        }
        continue;
      }
      set(spec, `-${name}`, rest);
    } else {
      positionals.push(arg);
    }
  }
  return { positionals, strings, bools, ints };
}

export function flagString(args: ParsedArgs, name: string): string | undefined {
  const v = args.strings.get(name);
  return v === undefined ? undefined : v[v.length - 1];
}

export function flagStrings(args: ParsedArgs, name: string): string[] {
  return args.strings.get(name) ?? [];
}

export function flagBool(args: ParsedArgs, name: string): boolean {
  return args.bools.get(name) ?? false;
}

export function flagInt(args: ParsedArgs, name: string): number | undefined {
  return args.ints.get(name);
}

/** The flags section of a command's help. */
export function formatFlags(specs: readonly FlagSpec[]): string {
  const rows = specs.map((s) => {
    const names = `${s.short ? `-${s.short}, ` : '    '}--${s.name}${s.type === 'bool' ? '' : ` ${s.valueName ?? s.type.toUpperCase()}`}`;
    return [names, s.help] as const;
  });
  const width = Math.max(...rows.map(([n]) => n.length));
  return rows.map(([n, h]) => `  ${n.padEnd(width)}   ${h}`).join('\n');
}
