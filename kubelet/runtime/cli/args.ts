// The argv flag parser shared by the `tsk runtime` image and container verbs:
// `--flag VALUE`, `--flag=VALUE`, boolean flags and `--`. The two sides differ
// in a few docker-compatible leniencies, chosen per call through ParseOptions.

export class UsageError extends Error {}

export interface ParsedArgs {
  /** Every value given per flag, in order; a boolean flag's values are "true". */
  flags: Map<string, string[]>;
  args: string[];
}

export interface ParseOptions {
  /** Flags that take a value (`--name x` or `--name=x`). */
  valued: readonly string[];
  /** Flags that take none. */
  booleans: readonly string[];
  /** Everything from the first positional on is positional (run's IMAGE COMMAND..., exec's CONTAINER COMMAND...). */
  stopAtFirstArg?: boolean;
  /**
   * Docker's leniency (the container verbs): combined short booleans (`-it`),
   * `--flag=` with an empty value, a boolean given `=VALUE` is simply set, and
   * an unknown flag is reported as written ("unknown flag: --x=1"). Without it
   * (the image verbs) those are usage errors and an unknown flag is named
   * without its value ("unknown flag --x").
   */
  docker?: boolean;
}

export function parseArgs(argv: readonly string[], o: ParseOptions): ParsedArgs {
  const flags = new Map<string, string[]>();
  const args: string[] = [];
  const add = (k: string, v: string): void => {
    flags.set(k, [...(flags.get(k) ?? []), v]);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (args.length > 0 && o.stopAtFirstArg === true) {
      args.push(a);
      continue;
    }
    if (a === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      args.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(0, eq) : a;
    if (o.valued.includes(name)) {
      const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
      if (v === undefined || (v === '' && o.docker !== true)) throw new UsageError(`flag ${name} needs a value`);
      add(name, v);
    } else if (o.booleans.includes(name)) {
      if (eq > 0 && o.docker !== true) throw new UsageError(`flag ${name} takes no value`);
      add(name, 'true');
    } else if (o.docker === true && isBundle(a, o.booleans)) {
      for (const c of a.slice(1)) add(`-${c}`, 'true');
    } else {
      throw new UsageError(o.docker === true ? `unknown flag: ${a}` : `unknown flag ${name}`);
    }
  }
  return { flags, args };
}

/** `-it` standing for `-i -t`: every letter a known short boolean. */
function isBundle(a: string, booleans: readonly string[]): boolean {
  return /^-[a-zA-Z]{2,}$/.test(a) && [...a.slice(1)].every((c) => booleans.includes(`-${c}`));
}
