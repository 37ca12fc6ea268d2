// The lab's network: a switch namespace with a bridge per subnet (br0, ...),
// and one namespace per node joined to its subnet's bridge by a veth pair
// (eth0 in the node). With several subnets a router namespace has a leg
// (eth<k>, the subnet's .1) on every bridge and forwards between them (no
// NAT); each node routes the other subnets via its own subnet's .1. No link, route
// or rule is ever made in the host's namespace; every command names the
// namespace it acts in (ip -n / ip netns).

import { execFile } from 'node:child_process';
import type { LabPlan } from './topology';
import { errorMessage } from '../util/errors';

/** Runs one command; rejects with an Error holding the command line and its stderr. */
export type CommandRunner = (argv: readonly string[]) => Promise<void>;

export const execRunner: CommandRunner = (argv) =>
  new Promise((resolve, reject) => {
    const [cmd, ...args] = argv;
    execFile(cmd ?? '', args, { timeout: 30_000 }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`${argv.join(' ')}: ${String(stderr).trim() || err.message}`));
      else resolve();
    });
  });

/** The commands that build the lab network, in order. */
export function upCommands(plan: LabPlan): string[][] {
  const sw = plan.switchNetns;
  const cmds: string[][] = [
    ['ip', 'netns', 'add', sw],
    ['ip', '-n', sw, 'link', 'set', 'lo', 'up'],
  ];
  for (const s of plan.subnets) cmds.push(['ip', '-n', sw, 'link', 'add', s.bridge, 'type', 'bridge'], ['ip', '-n', sw, 'link', 'set', s.bridge, 'up']);
  const rt = plan.routerNetns;
  if (rt) {
    // Forwarding on in the router's namespace only (a new namespace starts with it off).
    cmds.push(['ip', 'netns', 'add', rt], ['ip', '-n', rt, 'link', 'set', 'lo', 'up'], ['ip', 'netns', 'exec', rt, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    plan.subnets.forEach((s, k) =>
      cmds.push(
        ['ip', '-n', sw, 'link', 'add', s.routerPort, 'type', 'veth', 'peer', 'name', `eth${k}`, 'netns', rt],
        ['ip', '-n', sw, 'link', 'set', s.routerPort, 'master', s.bridge, 'up'],
        ['ip', '-n', rt, 'addr', 'add', `${s.gateway}/${s.prefix}`, 'dev', `eth${k}`],
        ['ip', '-n', rt, 'link', 'set', `eth${k}`, 'up'],
      ),
    );
  }
  for (const n of plan.nodes) {
    const own = plan.subnets[n.subnet];
    cmds.push(
      ['ip', 'netns', 'add', n.netns],
      ['ip', '-n', n.netns, 'link', 'set', 'lo', 'up'],
      ['ip', '-n', sw, 'link', 'add', n.switchPort, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', n.netns],
      ['ip', '-n', sw, 'link', 'set', n.switchPort, 'master', own?.bridge ?? plan.bridge, 'up'],
      ['ip', '-n', n.netns, 'addr', 'add', `${n.ip}/${n.prefix}`, 'dev', 'eth0'],
      ['ip', '-n', n.netns, 'link', 'set', 'eth0', 'up'],
      // No default route leads out of the lab; ClusterIPs still need a route
      // for the OUTPUT chain's DNAT to see the packets (kube-proxy's nodes
      // have their default route for that).
      ['ip', '-n', n.netns, 'route', 'add', plan.serviceCidr, 'dev', 'eth0'],
    );
    if (rt && own) {
      for (const s of plan.subnets) if (s !== own) cmds.push(['ip', '-n', n.netns, 'route', 'add', `${s.base}/${s.prefix}`, 'via', own.gateway]);
    }
  }
  for (const srv of plan.servers) {
    const m = srv.ha;
    if (!m) continue;
    const own = plan.subnets[0];
    cmds.push(
      ['ip', 'netns', 'add', m.netns],
      ['ip', '-n', m.netns, 'link', 'set', 'lo', 'up'],
      ['ip', '-n', sw, 'link', 'add', m.switchPort, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', m.netns],
      ['ip', '-n', sw, 'link', 'set', m.switchPort, 'master', plan.bridge, 'up'],
      ['ip', '-n', m.netns, 'addr', 'add', `${m.ip}/${m.prefix}`, 'dev', 'eth0'],
      ['ip', '-n', m.netns, 'link', 'set', 'eth0', 'up'],
    );
    if (rt && own) for (const s of plan.subnets) if (s !== own) cmds.push(['ip', '-n', m.netns, 'route', 'add', `${s.base}/${s.prefix}`, 'via', own.gateway]);
  }
  return cmds;
}

/** The commands that remove it: deleting a namespace deletes its links, and a veth goes with either end. */
export function downCommands(plan: LabPlan): string[][] {
  return [
    ...plan.nodes.map((n) => ['ip', 'netns', 'delete', n.netns]),
    ...plan.servers.flatMap((s) => (s.ha ? [['ip', 'netns', 'delete', s.ha.netns]] : [])),
    ...(plan.routerNetns ? [['ip', 'netns', 'delete', plan.routerNetns]] : []),
    ['ip', 'netns', 'delete', plan.switchNetns],
  ];
}

/** Builds the network; on a failure, removes what it made and rethrows naming the step. */
export async function createLabNetwork(plan: LabPlan, run: CommandRunner = execRunner): Promise<void> {
  try {
    for (const cmd of upCommands(plan)) await run(cmd);
  } catch (err) {
    await removeLabNetwork(plan, run);
    throw new Error(`lab network: ${errorMessage(err)}`, { cause: err });
  }
}

/** Removes the network; namespaces already gone are fine (idempotent). */
export async function removeLabNetwork(plan: LabPlan, run: CommandRunner = execRunner): Promise<void> {
  for (const cmd of downCommands(plan)) {
    await run(cmd).catch((err: unknown) => {
      const msg = errorMessage(err);
      if (!/No such file|not found|does not exist/i.test(msg)) throw err;
    });
  }
}
