// `tsk lab up|down|status|load|kill|start|partition|heal`: flags and output of the lab commands.

import { resolve } from 'node:path';
import { durationMs, flagBool, flagString, formatFlags, hostPort, parseCommandLine, UsageError, type FlagSpec } from '../util/flags';
import { cleanupNodeRuntime, importIntoNode } from './cleanup';
import { downLab, labStatus, loadImages, upLab } from './lab';
import { LabOpError } from './machines';
import { healMachine, killMachine, partitionMachine, startMachine } from './ops';
import { runRelay } from './relay';
import { parseCidr, planLab } from './topology';
import { errorMessage } from '../util/errors';

const LAB_FLAGS: readonly FlagSpec[] = [
  { name: 'name', type: 'string', valueName: 'NAME', help: "the lab's name (default lab)" },
  { name: 'nodes', type: 'string', valueName: 'N', help: 'number of nodes, for up (default 2)' },
  {
    name: 'servers',
    type: 'string',
    valueName: 'N',
    help: 'number of servers, for up (default 1; 2 or more: an HA control plane, each server in its own namespace)',
  },
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
  {
    name: 'node-monitor-grace-period',
    type: 'string',
    valueName: 'DURATION',
    help: "the server's --node-monitor-grace-period, for up (default the server's, 40s)",
  },
  { name: 'timeout', type: 'string', valueName: 'SECONDS', help: 'how long up waits for the server and the nodes (default 180)' },
  {
    name: 'cpu-prof',
    type: 'string',
    valueName: 'DIR',
    help: 'for up: run the servers and agents with node --cpu-prof, each writing its .cpuprofile into DIR when it stops',
  },
  { name: 'help', short: 'h', type: 'bool', help: 'print this help' },
];

const HELP = `Usage: tsk lab COMMAND [FLAGS]

A local multi-node tsk cluster on this machine (like kind): the server runs in
the host namespace on loopback, and each node is a network namespace of its
own, joined to the others by a bridge, with no link to the host's network.

Commands:
  up        create the lab and wait until every node is Ready
  down      stop everything the lab runs and remove it (pods, namespaces, data)
  status    show the lab's machines: namespace, address, PID, state
  load FILE...
            import image archives (docker save tarballs, OCI layouts) into every
            node's image store, as kind load image-archive
  kill MACHINE
            kill -9 a server or a node's agent (a node's pods keep running)
  start MACHINE
            start a killed machine again with the command line it had
  partition MACHINE
            cut a machine off the lab network (a node from the other nodes and
            the servers; a server from every node)
  heal MACHINE
            reconnect a partitioned machine
  relay SOCKET TARGET
            (run by up) a node's link to the server's socket; either end may be
            tcp:HOST:PORT (an HA lab's REST API relayed to the host for kubectl)

MACHINE is a name from tsk lab status: NAME-server-1, NAME-node-1, ...

Flags:
${formatFlags(LAB_FLAGS)}`;

const COMMANDS = ['up', 'down', 'status', 'load', 'kill', 'start', 'partition', 'heal', 'relay'] as const;
type LabCommand = (typeof COMMANDS)[number];
const MACHINE_COMMANDS: readonly LabCommand[] = ['kill', 'start', 'partition', 'heal'];

interface LabFlags {
  command: LabCommand;
  /** load: the archives; kill, start, partition, heal: the machine; relay: the socket and its target. */
  files: string[];
  name: string;
  nodes: number;
  servers: number;
  nodeMonitorGracePeriod: string | undefined;
  dataDir: string;
  network: string;
  subnets: number;
  podNetworkBackend: 'vxlan' | 'host-gw' | undefined;
  address: string;
  httpAddress: string;
  resolvConf: string | undefined;
  timeoutMs: number;
  cpuProfDir: string | undefined;
}

export function parseLabFlags(argv: string[]): LabFlags | 'help' {
  const parsed = parseCommandLine(argv, LAB_FLAGS);
  if (flagBool(parsed, 'help')) return 'help';
  const values = {
    name: flagString(parsed, 'name') ?? 'lab',
    nodes: flagString(parsed, 'nodes') ?? '2',
    servers: flagString(parsed, 'servers') ?? '1',
    'data-dir': flagString(parsed, 'data-dir') ?? '/var/lib/tsk',
    network: flagString(parsed, 'network') ?? '172.30.0.0/24',
    subnets: flagString(parsed, 'subnets') ?? '1',
    address: flagString(parsed, 'address') ?? '127.0.0.1:6443',
    'http-address': flagString(parsed, 'http-address') ?? '127.0.0.1:6080',
    timeout: flagString(parsed, 'timeout') ?? '180',
  };
  const [command, ...extra] = parsed.positionals;
  const known = (c: string | undefined): c is LabCommand => (COMMANDS as readonly (string | undefined)[]).includes(c);
  if (!known(command)) {
    const list = 'up, down, status, load, kill, start, partition or heal';
    throw new UsageError(command ? `unknown lab command "${command}"; use ${list}` : `a command is required: ${list}`);
  }
  checkArguments(command, extra);
  const nodes = Number(values.nodes);
  const servers = Number(values.servers);
  const grace = flagString(parsed, 'node-monitor-grace-period');
  if (grace !== undefined) durationMs('node-monitor-grace-period', grace);
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
    planLab({ name: values.name, nodes, servers, dataDir: values['data-dir'], network: values.network, subnets });
  } catch (err) {
    throw new UsageError(errorMessage(err));
  }
  return {
    command,
    files: extra,
    name: values.name,
    nodes,
    servers,
    nodeMonitorGracePeriod: grace,
    dataDir: values['data-dir'],
    network: values.network,
    subnets,
    podNetworkBackend: backend,
    address: values.address,
    httpAddress: values['http-address'],
    resolvConf: flagString(parsed, 'resolv-conf'),
    timeoutMs: timeout * 1000,
    cpuProfDir: cpuProfDir(flagString(parsed, 'cpu-prof')),
  };
}

/** --cpu-prof's directory, absolute (the lab's processes start elsewhere); "" is refused. */
function cpuProfDir(dir: string | undefined): string | undefined {
  if (dir === undefined) return undefined;
  if (dir === '') throw new UsageError('--cpu-prof: name a directory');
  return resolve(dir);
}

/** How the lab runs tsk: node, with --cpu-prof when asked, and tsk.js. */
function tskCommand(cpuProf: string | undefined): string[] {
  const prof = cpuProf !== undefined ? ['--cpu-prof', '--cpu-prof-dir', cpuProf] : [];
  return [process.execPath, ...prof, resolve(__dirname, '..', 'cmd', 'tsk.js')];
}

/** The positional arguments each command takes. */
function checkArguments(command: LabCommand, extra: readonly string[]): void {
  if (command === 'load') {
    if (extra.length === 0) throw new UsageError('load: name at least one image archive');
  } else if (MACHINE_COMMANDS.includes(command)) {
    if (extra.length !== 1) throw new UsageError(`${command}: name one machine (see tsk lab status)`);
  } else if (command === 'relay') {
    if (extra.length !== 2) throw new UsageError('relay: give the socket to listen on and the socket to relay to');
  } else if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
}

function printStatus(s: Awaited<ReturnType<typeof labStatus>>, name: string): number {
  if (!s) {
    console.log(`lab "${name}" does not exist`);
    return 1;
  }
  const server = s.machines.find((m) => m.role === 'server');
  console.log(`lab ${s.name}: server ${server?.state ?? 'missing'}, API at ${s.address}`);
  console.log(`${'MACHINE'.padEnd(24)}${'ROLE'.padEnd(8)}${'NAMESPACE'.padEnd(24)}${'ADDRESS'.padEnd(22)}${'PID'.padEnd(9)}STATE`);
  for (const m of s.machines)
    console.log(`${m.name.padEnd(24)}${m.role.padEnd(8)}${m.namespace.padEnd(24)}${m.address.padEnd(22)}${String(m.pid).padEnd(9)}${m.state}`);
  return s.machines.length > 0 && s.machines.every((m) => m.state === 'running') ? 0 : 1;
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
  if (flags.command === 'relay') {
    const [listen = '', target = ''] = flags.files;
    await runRelay(listen, target);
    return 0;
  }
  if (process.getuid?.() !== 0) {
    console.error('tsk lab: must run as root (it creates network namespaces, cgroups and mounts)');
    return 1;
  }
  const log = (line: string): void => console.log(line);
  try {
    return await run(flags, log);
  } catch (err) {
    if (!(err instanceof LabOpError)) throw err;
    console.error(`tsk lab ${flags.command}: ${err.message}`);
    return 1;
  }
}

async function run(flags: LabFlags, log: (line: string) => void): Promise<number> {
  const machine = flags.files[0] ?? '';
  switch (flags.command) {
    case 'up':
      await upLab({ ...flags, tsk: tskCommand(flags.cpuProfDir), log, cleanupNode: cleanupNodeRuntime });
      return 0;
    case 'down':
      await downLab({ name: flags.name, dataDir: flags.dataDir, log, cleanupNode: cleanupNodeRuntime });
      return 0;
    case 'status':
      return printStatus(await labStatus(flags.name, flags.dataDir), flags.name);
    case 'load':
      await loadImages(flags.name, flags.dataDir, flags.files, log, importIntoNode);
      return 0;
    case 'kill':
      await killMachine(flags.name, flags.dataDir, machine, log);
      return 0;
    case 'start':
      await startMachine(flags.name, flags.dataDir, machine, log);
      return 0;
    case 'partition':
      await partitionMachine(flags.name, flags.dataDir, machine, log);
      return 0;
    case 'heal':
      await healMachine(flags.name, flags.dataDir, machine, log);
      return 0;
    case 'relay':
      throw new Error('relay runs before the root check');
  }
}
