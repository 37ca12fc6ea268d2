// The lab's network: a switch namespace with bridge br0, and one namespace
// per node joined to it by a veth pair (eth0 in the node). No link, route
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
    ['ip', '-n', sw, 'link', 'add', plan.bridge, 'type', 'bridge'],
    ['ip', '-n', sw, 'link', 'set', plan.bridge, 'up'],
  ];
  for (const n of plan.nodes) {
    cmds.push(
      ['ip', 'netns', 'add', n.netns],
      ['ip', '-n', n.netns, 'link', 'set', 'lo', 'up'],
      ['ip', '-n', sw, 'link', 'add', n.switchPort, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', n.netns],
      ['ip', '-n', sw, 'link', 'set', n.switchPort, 'master', plan.bridge, 'up'],
      ['ip', '-n', n.netns, 'addr', 'add', `${n.ip}/${n.prefix}`, 'dev', 'eth0'],
      ['ip', '-n', n.netns, 'link', 'set', 'eth0', 'up'],
      // No default route leads out of the lab; ClusterIPs still need a route
      // for the OUTPUT chain's DNAT to see the packets (kube-proxy's nodes
      // have their default route for that).
      ['ip', '-n', n.netns, 'route', 'add', plan.serviceCidr, 'dev', 'eth0'],
    );
  }
  return cmds;
}

/** The commands that remove it: deleting a namespace deletes its links, and a veth goes with either end. */
export function downCommands(plan: LabPlan): string[][] {
  return [...plan.nodes.map((n) => ['ip', 'netns', 'delete', n.netns]), ['ip', 'netns', 'delete', plan.switchNetns]];
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
