// `tsk scheduler` flags (node:util parseArgs). Parsing is pure: it returns
// the options or throws a UsageError naming the flag, and never exits.

import { parseArgs } from 'node:util';

export interface SchedulerFlags {
  /** The API server's address; undefined: resolveServer's default chain. */
  server: string | undefined;
  httpAddress: string;
  help: boolean;
}

export class UsageError extends Error {}

export const DEFAULT_HTTP_ADDRESS = '127.0.0.1:10259';

export const FLAG_HELP = `Usage: tsk scheduler [FLAGS]

Runs the tsk scheduler: watches pods without a node and binds each to a node
that can run it (resources, node selector, taints, host ports), spreading
the pods of one controller. Pods that fit nowhere stay Pending with a
PodScheduled=False condition and a FailedScheduling event saying why.

Flags:
  --server ADDRESS          the API server: HOST:PORT or unix:/PATH (default: $TSCTL_SERVER,
                            else ~/.tsk/config, else 127.0.0.1:6443)
  --http-address HOST:PORT  HTTP address for /healthz, /readyz, /livez, /metrics (default ${DEFAULT_HTTP_ADDRESS})
  -h, --help                print this help`;

function serverAddress(value: string): string {
  if (value.startsWith('unix:')) {
    if (!value.slice('unix:'.length).startsWith('/')) throw new UsageError(`--server: "${value}" must be unix:/ABSOLUTE/PATH`);
    return value;
  }
  return hostPort('server', value);
}

function hostPort(flag: string, value: string): string {
  const m = /^(.+):(\d+)$/.exec(value);
  if (!m || Number(m[2]) > 65535) throw new UsageError(`--${flag}: "${value}" is not HOST:PORT (for example 127.0.0.1:10259)`);
  return value;
}

export function parseFlags(argv: string[]): SchedulerFlags {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        server: { type: 'string' },
        'http-address': { type: 'string', default: DEFAULT_HTTP_ADDRESS },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  return {
    server: values.server === undefined ? undefined : serverAddress(values.server),
    httpAddress: hostPort('http-address', values['http-address']),
    help: values.help,
  };
}
