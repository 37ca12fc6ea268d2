// `tsk token` command line (kubeadm token's subcommands): pure parsing into
// a request, so every bad input is a UsageError naming the flag.

import { durationMs, parseFlagValues, serverAddress, UsageError } from '../util/flags';
import { tokenIdOf, TokenFormatError } from '../util/join-token';

export { UsageError };

type Common = { server: string | undefined; kubeconfig: string | undefined; context: string | undefined; help: boolean };
export type TokenCommand =
  | (Common & { verb: 'create'; ttlSeconds: number; description: string })
  | (Common & { verb: 'list' })
  | (Common & { verb: 'delete'; ids: string[] })
  | { verb: 'help' };

export const TOKEN_HELP = `Usage: tsk token COMMAND [FLAGS]

Manages the join tokens of the cluster (as kubeadm token). A node joins with
  tsk agent --server https://HOST:6443 --token TOKEN
The server's own token is in <data-dir>/token; it never expires and may also
join the scheduler and the controller manager.

Commands:
  create [--ttl DURATION] [--description TEXT]   make a token that may join nodes and print it
                                                 (--ttl default 24h; 0 never expires)
  list                                           list the tokens: TOKEN ID, TTL, EXPIRES, USAGES, DESCRIPTION
  delete ID|TOKEN ...                            delete tokens: nodes can no longer join with them

Flags of every command:
  --server ADDRESS      the API server, HOST:PORT or unix:/PATH (default: the context's server)
  --kubeconfig FILE     the client config with the admin credential (default: $TSK_CONFIG, then ~/.tsk/config;
                        on the server, <data-dir>/admin.conf)
  --context NAME        the context of the client config to use (default: its current context)
  -h, --help            print this help`;

const COMMON = {
  server: { type: 'string' },
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** The ttl in whole seconds: a Go duration, 0 for never. */
function ttlSeconds(value: string): number {
  return Math.round(durationMs('ttl', value, { atLeast: '1s', zeroMeans: 'never expires' }) / 1000);
}

function splitPositionals(argv: readonly string[]): { positionals: string[]; flags: string[] } {
  const positionals: string[] = [];
  const flags: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (!a.startsWith('-')) {
      positionals.push(a);
      continue;
    }
    flags.push(a);
    // Flags that take a value, given as --flag VALUE.
    if (['--ttl', '--description', '--server', '--kubeconfig', '--context'].includes(a) && i + 1 < argv.length) flags.push(argv[++i] ?? '');
  }
  return { positionals, flags };
}

export function parseTokenCommand(argv: readonly string[]): TokenCommand {
  const [verb, ...rest] = argv;
  if (verb === undefined || verb === 'help' || verb === '--help' || verb === '-h') return { verb: 'help' };
  const { positionals, flags } = splitPositionals(rest);
  const common = (v: { server?: string | undefined; kubeconfig?: string | undefined; context?: string | undefined; help: boolean }): Common => ({
    server: v.server === undefined ? undefined : serverAddress('server', v.server),
    kubeconfig: v.kubeconfig,
    context: v.context,
    help: v.help,
  });
  switch (verb) {
    case 'create': {
      const v = parseFlagValues(flags, { ...COMMON, ttl: { type: 'string', default: '24h' }, description: { type: 'string', default: '' } });
      if (positionals.length > 0) throw new UsageError(`tsk token create takes no arguments (got "${positionals[0]}")`);
      return { verb, ttlSeconds: ttlSeconds(v.ttl), description: v.description, ...common(v) };
    }
    case 'list': {
      const v = parseFlagValues(flags, COMMON);
      if (positionals.length > 0) throw new UsageError(`tsk token list takes no arguments (got "${positionals[0]}")`);
      return { verb, ...common(v) };
    }
    case 'delete': {
      const v = parseFlagValues(flags, COMMON);
      if (positionals.length === 0 && !v.help) throw new UsageError('tsk token delete needs a token ID or a token');
      const ids = positionals.map((p) => {
        try {
          return tokenIdOf(p);
        } catch (err) {
          if (err instanceof TokenFormatError)
            throw new UsageError(`"${p.length > 12 ? `${p.slice(0, 12)}…` : p}" is not a token ID or a token: ${err.message}`);
          throw err;
        }
      });
      return { verb, ids, ...common(v) };
    }
    default:
      throw new UsageError(`unknown command "${verb}" (create, list or delete)`);
  }
}
