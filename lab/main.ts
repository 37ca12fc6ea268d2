// `tsk lab up|down|status`: flags and output of the lab commands.

import { resolve } from 'node:path';
import { flagBool, flagString, formatFlags, hostPort, parseCommandLine, UsageError, type FlagSpec } from '../util/flags';
import { cleanupNodeRuntime, importIntoNode } from './cleanup';
import { downLab, labStatus, loadImages, upLab } from './lab';
import { parseCidr, planLab } from './topology';
import { errorMessage } from '../util/errors';

const LAB_FLAGS: readonly FlagSpec[] = [
  { name: 'name', type: 'string', valueName: 'NAME', help: "the lab's name (default lab)" },
  { name: 'nodes', type: 'string', valueName: 'N', help: 'number of nodes, for up (default 2)' },
  { name: 'data-dir', type: 'string', valueName: 'DIR', help: 'the lab lives in DIR/lab/NAME (default /var/lib/tsk)' },
  { name: 'network', type: 'string', valueName: 'CIDR', help: "the nodes' network inside the lab, for up (default 172.30.0.0/24)" },
  { name: 'subnets', type: 'string', valueName: 'N', help: 'put the nodes in N subnets joined by a router namespace, for up (default 1)' },
  {
    name: 'pod-network-backend',
    type: 'string',
    valueName: 'B',
    help: "the agents' --pod-network-backend, vxlan or host-gw (host-gw reaches pods of the node's own subnet only), for up (default vxlan)",
  },
  { name: 'address', type: 'string', valueName: 'HOST:PORT', help: "the API server's address for tsctl, for up (default 127.0.0.1:6443)" },
  { name: 'http-address', type: 'string', valueName: 'H:P', help: "the server's /healthz, /metrics, for up (default 127.0.0.1:6080)" },
  { name: 'resolv-conf', type: 'string', valueName: 'FILE', help: "the nodes' resolver config: each agent's --resolv-conf, for up (default /etc/resolv.conf)" },
  { name: 'timeout', type: 'string', valueName: 'SECONDS', help: 'how long up waits for the server and the nodes (default 180)' },
  { name: 'help', short: 'h', type: 'bool', help: 'print this help' },
];

const HELP = `Usage: tsk lab COMMAND [FLAGS]

A local multi-node tsk cluster on this machine (like kind): the server runs in
the host namespace on loopback, and each node is a network namespace of its
own, joined to the others by a bridge, with no link to the host's network.

Commands:
  up        create the lab and wait until every node is Ready
  down      stop everything the lab runs and remove it (pods, namespaces, data)
  status    show the lab's server and nodes
  load FILE...
            import image archives (docker save tarballs, OCI layouts) into every
            node's image store, as kind load image-archive

Flags:
${formatFlags(LAB_FLAGS)}`;

interface LabFlags {
  command: 'up' | 'down' | 'status' | 'load';
  files: string[];
  name: string;
  nodes: number;
  dataDir: string;
  network: string;
  subnets: number;
  podNetworkBackend: 'vxlan' | 'host-gw' | undefined;
  address: string;
  httpAddress: string;
  resolvConf: string | undefined;
  timeoutMs: number;
}

export function parseLabFlags(argv: string[]): LabFlags | 'help' {
  const parsed = parseCommandLine(argv, LAB_FLAGS);
  if (flagBool(parsed, 'help')) return 'help';
  const values = {
    name: flagString(parsed, 'name') ?? 'lab',
    nodes: flagString(parsed, 'nodes') ?? '2',
    'data-dir': flagString(parsed, 'data-dir') ?? '/var/lib/tsk',
    network: flagString(parsed, 'network') ?? '172.30.0.0/24',
    subnets: flagString(parsed, 'subnets') ?? '1',
    address: flagString(parsed, 'address') ?? '127.0.0.1:6443',
    'http-address': flagString(parsed, 'http-address') ?? '127.0.0.1:6080',
    timeout: flagString(parsed, 'timeout') ?? '180',
  };
  const [command, ...extra] = parsed.positionals;
  if (command !== 'up' && command !== 'down' && command !== 'status' && command !== 'load') {
    throw new UsageError(command ? `unknown lab command "${command}"; use up, down, status or load` : 'a command is required: up, down, status or load');
  }
  if (command === 'load' && extra.length === 0) throw new UsageError('load: name at least one image archive');
  if (command !== 'load' && extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  const nodes = Number(values.nodes);
  const subnets = Number(values.subnets);
  const backend = flagString(parsed, 'pod-network-backend');
  if (backend !== undefined && backend !== 'vxlan' && backend !== 'host-gw') {
    throw new UsageError(`--pod-network-backend: "${backend}" must be vxlan or host-gw`);
  }
  const timeout = Number(values.timeout);
  if (!Number.isInteger(timeout) || timeout < 1) throw new UsageError(`--timeout: "${values.timeout}" is not a number of seconds`);
  hostPort('address', values.address);
  hostPort('http-address', values['http-address'], '127.0.0.1:6080');
  try {
    parseCidr(values.network);
    planLab({ name: values.name, nodes, dataDir: values['data-dir'], network: values.network, subnets });
  } catch (err) {
    throw new UsageError(errorMessage(err));
  }
  return {
    command,
    files: extra,
    name: values.name,
    nodes,
    dataDir: values['data-dir'],
    network: values.network,
    subnets,
    podNetworkBackend: backend,
    address: values.address,
    httpAddress: values['http-address'],
    resolvConf: flagString(parsed, 'resolv-conf'),
    timeoutMs: timeout * 1000,
  };
}

function printStatus(s: Awaited<ReturnType<typeof labStatus>>, name: string): number {
  if (!s) {
    console.log(`lab "${name}" does not exist`);
    return 1;
  }
  console.log(`lab ${s.name}: server ${s.server}, API at ${s.address}`);
  console.log(`${'NODE'.padEnd(24)}${'IP'.padEnd(16)}AGENT`);
  for (const n of s.nodes) console.log(`${n.name.padEnd(24)}${n.ip.padEnd(16)}${n.agent}`);
  return s.server === 'running' && s.nodes.every((n) => n.agent === 'running') ? 0 : 1;
}

export async function main(argv: string[]): Promise<number> {
  let flags;
  try {
    flags = parseLabFlags(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`tsk lab: ${err.message}\n\n${HELP}`);
    return 2;
  }
  if (flags === 'help') {
    console.log(HELP);
    return 0;
  }
  if (process.getuid?.() !== 0) {
    console.error('tsk lab: must run as root (it creates network namespaces, cgroups and mounts)');
    return 1;
  }
  const log = (line: string): void => console.log(line);
  switch (flags.command) {
    case 'up':
      await upLab({ ...flags, tsk: [process.execPath, resolve(__dirname, '..', 'cmd', 'tsk.js')], log, cleanupNode: cleanupNodeRuntime });
      return 0;
    case 'down':
      await downLab({ name: flags.name, dataDir: flags.dataDir, log, cleanupNode: cleanupNodeRuntime });
      return 0;
    case 'status':
      return printStatus(await labStatus(flags.name, flags.dataDir), flags.name);
    case 'load':
      await loadImages(flags.name, flags.dataDir, flags.files, log, importIntoNode);
      return 0;
  }
}
