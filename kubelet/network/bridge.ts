// The pod network of one node, as Kubernetes' bridge + host-local CNI
// plugins build it: a Linux bridge in the node's network namespace holding
// the first address of the node's pod CIDR (the pods' gateway), and per
// sandbox a veth pair whose node end is a port of the bridge (hairpin on,
// for services that send a pod's traffic back to itself) and whose other
// end is the sandbox's eth0, with an address from host-local IPAM and a
// default route via the gateway. IP forwarding is enabled in the node
// namespace (only there), for traffic that leaves the bridge later.
//
// "The node" is the kubelet's own network namespace in production; `netns`
// names another one (tests use a namespace of their own, never the host's).
// Every step is one iproute2 command, run through a CommandRunner (steps
// in one namespace share one `ip -batch` process); an error names the step
// and the command.

import { createHash } from 'node:crypto';
import * as path from 'node:path';
import type { NetworkHook, NetworkStatus, SandboxConfig } from '../runtime/runtime';
import { formatIPv4 } from '../../util/ipv4';
import { parsePodCidr, PodCidr } from './cidr';
import { CommandResult, CommandRunner, ExecRunner, NetworkError } from './commands';
import { HostLocalIpam, IpamError } from './ipam';
import { errorMessage } from '../../util/errors';

export interface BridgeNetworkOptions {
  /** The node's pod CIDR (Node.spec.podCIDR), e.g. "10.244.1.0/24". */
  podCidr: string;
  /** Default "tsk0". */
  bridgeName?: string;
  /** MTU of the bridge and of both ends of every veth; default 1500. */
  mtu?: number;
  /** IPAM state (one file per address in use), under the kubelet's data dir. */
  stateDir: string;
  /**
   * The network namespace that plays the node: a name under /var/run/netns,
   * or a path. Unset in production (the kubelet's own namespace); tests
   * MUST set it to a namespace they created.
   */
  netns?: string;
  /** Defaults to running the commands for real (ExecRunner). */
  runner?: CommandRunner;
}

/** iproute2's directory of named network namespaces. */
export const NETNS_RUN_DIR = '/var/run/netns';
export const DEFAULT_BRIDGE = 'tsk0';
export const DEFAULT_MTU = 1500;
/** The sandbox end of every veth. */
export const POD_IFNAME = 'eth0';

/** The node end of a sandbox's veth: "veth" + 8 hex of the ID's SHA-256 (interface names take 15 characters). */
export function vethName(sandboxId: string): string {
  return `veth${createHash('sha256').update(sandboxId).digest('hex').slice(0, 8)}`;
}

/** A link as `ip -j -d link show` reports it (only what we look at). */
interface LinkInfo {
  kind?: string;
}

const NO_SUCH_DEVICE = /does not exist|Cannot find device/;
const NO_NODE_NETNS = /Cannot open network namespace/;

export class BridgeNetwork implements NetworkHook {
  readonly cidr: PodCidr;
  readonly bridgeName: string;
  readonly mtu: number;
  readonly netns: string | undefined;
  private readonly ipam: HostLocalIpam;
  private readonly runner: CommandRunner;
  private readonly locks = new KeyedLock();
  private bridgeReady: Promise<void> | undefined;

  constructor(opts: BridgeNetworkOptions) {
    this.cidr = option(() => parsePodCidr(opts.podCidr));
    this.bridgeName = opts.bridgeName ?? DEFAULT_BRIDGE;
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/.test(this.bridgeName)) {
      throw new NetworkError('options', `bridgeName ${JSON.stringify(this.bridgeName)}: 1 to 15 letters, digits, "_", "." or "-"`);
    }
    this.mtu = opts.mtu ?? DEFAULT_MTU;
    if (!Number.isInteger(this.mtu) || this.mtu < 68 || this.mtu > 65535) throw new NetworkError('options', `mtu ${this.mtu}: an integer from 68 to 65535`);
    if (opts.netns !== undefined && !validNetns(opts.netns)) {
      throw new NetworkError('options', `netns ${JSON.stringify(opts.netns)}: a name under ${NETNS_RUN_DIR} or an absolute path`);
    }
    this.netns = opts.netns;
    if (!opts.stateDir) throw new NetworkError('options', 'stateDir is required');
    this.ipam = option(() => new HostLocalIpam(path.resolve(opts.stateDir), this.cidr));
    this.runner = opts.runner ?? new ExecRunner();
  }

  get gateway(): string {
    return formatIPv4(this.cidr.gateway);
  }

  /** The address a sandbox holds, if any. */
  addressOf(sandboxId: string): string | undefined {
    return this.ipam.get(sandboxId);
  }

  /**
   * Wires the sandbox: bridge (once), address, veth, eth0 and its route.
   * Idempotent: for a sandbox that has an address it returns the same one
   * and re-applies the rest. On failure a freshly allocated address and the
   * veth are given back, so the error changes nothing.
   */
  async setUp(sandboxId: string, netnsPath: string, _config?: SandboxConfig): Promise<NetworkStatus> {
    return this.locks.run(sandboxId, async () => {
      await this.ensureBridge();
      const held = this.ipam.get(sandboxId);
      const ip = held ?? this.allocateNew(sandboxId);
      try {
        await this.wire(sandboxId, netnsPath, ip);
      } catch (err) {
        if (held === undefined) await this.unwire(sandboxId).catch(() => undefined);
        throw err;
      }
      return { ips: [ip] };
    });
  }

  /** Deletes the veth (both ends go) and frees the address. Idempotent; a sandbox whose netns is gone still frees its address. */
  async tearDown(sandboxId: string, _netnsPath?: string): Promise<void> {
    return this.locks.run(sandboxId, () => this.unwire(sandboxId));
  }

  /**
   * Frees the addresses (and deletes the veths) of sandboxes that are not in
   * `liveSandboxIds`: what a kubelet killed at the wrong moment, or a data
   * dir wiped without stopping its sandboxes, left behind (CNI's GC). The
   * list must hold every sandbox that exists when this is called (the
   * kubelet calls it at start, from the runtime's list); a sandbox whose
   * setUp is running in this instance is never touched. Returns the freed
   * addresses.
   */
  async garbageCollect(liveSandboxIds: Iterable<string>): Promise<string[]> {
    const live = new Set(liveSandboxIds);
    const freed: string[] = [];
    for (const [ip, owner] of this.ipam.allocations()) {
      if (live.has(owner) || this.locks.busy(owner)) continue;
      await this.tearDown(owner);
      freed.push(ip);
    }
    return freed;
  }

  /** The sandboxes whose veth is gone from the node or whose address is not held any more (one `ip link` for all). */
  async lost(sandboxIds: readonly string[]): Promise<string[]> {
    if (sandboxIds.length === 0) return [];
    const argv = this.nodeIp(['-j', 'link', 'show']);
    const r = await this.step('list links', argv);
    let names: Set<string>;
    try {
      names = new Set((JSON.parse(r.stdout) as Array<{ ifname?: string }>).map((l) => l.ifname ?? ''));
    } catch (err) {
      throw new NetworkError('list links', `${argv.join(' ')}: unreadable JSON output: ${errorMessage(err)}`);
    }
    return sandboxIds.filter((id) => !this.locks.busy(id) && (!names.has(vethName(id)) || this.ipam.get(id) === undefined));
  }

  private async unwire(sandboxId: string): Promise<void> {
    const veth = vethName(sandboxId);
    // Gone already: torn down before, or the sandbox's namespace went and took the pair with it.
    await this.step(`delete veth ${veth}`, this.nodeIp(['link', 'del', veth]), (r) => NO_SUCH_DEVICE.test(r.stderr) || NO_NODE_NETNS.test(r.stderr));
    this.ipam.release(sandboxId);
  }

  private allocateNew(sandboxId: string): string {
    try {
      return this.ipam.allocateNew(sandboxId);
    } catch (err) {
      if (err instanceof IpamError) throw new NetworkError('allocate IP', err.message);
      throw new NetworkError('allocate IP', `${this.ipam.dir}: ${errorMessage(err)}`);
    }
  }

  private async wire(sandboxId: string, netnsPath: string, ip: string): Promise<void> {
    const veth = vethName(sandboxId);
    const br = this.bridgeName;
    const mtu = `${this.mtu}`;
    // One process for the node's side: every spawn costs (most of a setUp on a busy node), so
    // the veth is created and wired in the same batch. Its name is the sandbox's: one that
    // exists already ("File exists") is ours from an earlier pass, and is wired again.
    const add = ['link', 'add', veth, 'mtu', mtu, 'type', 'veth', 'peer', 'name', POD_IFNAME, 'mtu', mtu, 'netns', netnsPath];
    await this.batch(this.nodeIp([]), [
      [`create veth ${veth}`, add, /File exists/],
      [`attach veth ${veth} to bridge ${br}`, ['link', 'set', veth, 'master', br]],
      [`enable hairpin on ${veth}`, ['link', 'set', veth, 'type', 'bridge_slave', 'hairpin', 'on']],
      [`bring veth ${veth} up`, ['link', 'set', veth, 'up']],
    ]);
    const cidr = `${ip}/${this.cidr.prefix}`;
    await this.batch(
      ['nsenter', `--net=${netnsPath}`, 'ip'],
      [
        ['bring lo up in the sandbox', ['link', 'set', 'lo', 'up']],
        [`set ${POD_IFNAME} address ${cidr}`, ['addr', 'replace', cidr, 'brd', '+', 'dev', POD_IFNAME]],
        [`bring ${POD_IFNAME} up`, ['link', 'set', POD_IFNAME, 'up']],
        [`add default route via ${this.gateway}`, ['route', 'replace', 'default', 'via', this.gateway, 'dev', POD_IFNAME]],
      ],
    );
  }

  /** Once per instance (again after a failure): the bridge with its address, up, and forwarding on. */
  private ensureBridge(): Promise<void> {
    if (!this.bridgeReady) {
      this.bridgeReady = this.setUpBridge().catch((err: unknown) => {
        this.bridgeReady = undefined;
        throw err;
      });
    }
    return this.bridgeReady;
  }

  private async setUpBridge(): Promise<void> {
    const br = this.bridgeName;
    const link = await this.showLink(`check bridge ${br}`, br);
    if (link === undefined) {
      // "File exists": another process made it between the check and now; the kind is checked on the next start.
      await this.step(`create bridge ${br}`, this.nodeIp(['link', 'add', br, 'mtu', `${this.mtu}`, 'type', 'bridge']), (r) => /File exists/.test(r.stderr));
    } else if (link.kind !== 'bridge') {
      throw new NetworkError(`check bridge ${br}`, `${br} exists and is ${link.kind ? `a ${link.kind}` : 'a plain device'}, not a bridge`);
    }
    const gw = `${this.gateway}/${this.cidr.prefix}`;
    await this.batch(this.nodeIp([]), [
      [`set bridge ${br} address ${gw}`, ['addr', 'replace', gw, 'brd', '+', 'dev', br]],
      [`bring bridge ${br} up`, ['link', 'set', br, 'up']],
    ]);
    await this.step('enable IP forwarding in the node namespace', this.nodeSysctl(['-w', 'net.ipv4.ip_forward=1']));
    await this.passBridgedTrafficThroughIptables();
  }

  /**
   * A pod calling a Service whose endpoint is a pod on the same bridge: the
   * request is DNATed by the node, but the reply goes pod to pod across the
   * bridge and would never be un-NATed unless bridged traffic passes
   * iptables (br_netfilter), as Kubernetes requires of every node.
   */
  private async passBridgedTrafficThroughIptables(): Promise<void> {
    const step = 'pass bridged pod traffic through iptables (net.bridge.bridge-nf-call-iptables)';
    const sysctl = this.nodeSysctl(['-w', 'net.bridge.bridge-nf-call-iptables=1']);
    const first = await this.step(step, sysctl, (r) => /cannot stat|No such file/.test(r.stderr));
    if (first.code === 0) return;
    // The sysctl exists once the module is loaded: load it, as kubeadm asks admins to.
    await this.step('load the br_netfilter kernel module', ['modprobe', 'br_netfilter']);
    await this.step(step, sysctl);
  }

  /** The link in the node namespace, or undefined if there is none by that name. */
  private async showLink(step: string, name: string): Promise<LinkInfo | undefined> {
    const argv = this.nodeIp(['-j', '-d', 'link', 'show', name]);
    const r = await this.step(step, argv, (res) => NO_SUCH_DEVICE.test(res.stderr));
    if (r.code !== 0) return undefined;
    try {
      const [link] = JSON.parse(r.stdout) as Array<{ linkinfo?: { info_kind?: string } }>;
      const kind = link?.linkinfo?.info_kind;
      return kind === undefined ? {} : { kind };
    } catch (err) {
      throw new NetworkError(step, `${argv.join(' ')}: unreadable JSON output: ${errorMessage(err)}`);
    }
  }

  /** Runs one command; a non-zero exit is an error naming the step, unless `tolerate` accepts it. */
  private async step(step: string, argv: string[], tolerate?: (r: CommandResult) => boolean): Promise<CommandResult> {
    const r = await this.runner.run(argv);
    if (r.code !== 0 && !tolerate?.(r)) throw NetworkError.forCommand(step, argv, r);
    return r;
  }

  /**
   * Runs several ip commands in one process (`ip -batch -`: one spawn
   * instead of one per command, which is most of a setUp's time). ip stops
   * at the first failure and names its line, so the error still names the
   * step and its command. A step with a `tolerate` pattern may fail with a
   * matching message: the batch then runs with -force (ip goes on after a
   * failure and names every failed line), and only the other failures count.
   * Arguments hold no whitespace (names, addresses).
   */
  private async batch(ip: string[], steps: Array<[step: string, args: string[], tolerate?: RegExp]>): Promise<void> {
    const force = steps.some(([, , tolerate]) => tolerate !== undefined);
    const argv = [...ip, ...(force ? ['-force'] : []), '-batch', '-'];
    const r = await this.runner.run(argv, steps.map(([, args]) => `${args.join(' ')}\n`).join(''));
    if (r.code === 0) return;
    const failures = batchFailures(r.stderr);
    if (failures.length === 0) throw NetworkError.forCommand(steps.map(([step]) => step).join(', '), argv, r);
    for (const f of failures) {
      const failed = steps[f.line - 1];
      if (failed === undefined) throw NetworkError.forCommand(steps.map(([step]) => step).join(', '), argv, r);
      if (failed[2]?.test(f.message)) continue;
      throw NetworkError.forCommand(failed[0], [...ip, ...failed[1]], { ...r, stderr: f.message });
    }
  }

  /** `ip` in the node namespace: our own, a named one (ip -n) or one given by path (nsenter). */
  private nodeIp(args: string[]): string[] {
    if (this.netns === undefined) return ['ip', ...args];
    if (!this.netns.includes('/')) return ['ip', '-n', this.netns, ...args];
    return ['nsenter', `--net=${this.netns}`, 'ip', ...args];
  }

  private nodeSysctl(args: string[]): string[] {
    if (this.netns === undefined) return ['sysctl', ...args];
    const nsPath = this.netns.includes('/') ? this.netns : `${NETNS_RUN_DIR}/${this.netns}`;
    return ['nsenter', `--net=${nsPath}`, 'sysctl', ...args];
  }
}

/** The failed lines of an `ip -batch` run, each with the message ip printed before its "Command failed -:N". */
export function batchFailures(stderr: string): Array<{ line: number; message: string }> {
  const out: Array<{ line: number; message: string }> = [];
  for (const m of stderr.matchAll(/([\s\S]*?)Command failed -:(\d+)\n?/g)) out.push({ line: Number(m[2]), message: (m[1] ?? '').trim() });
  return out;
}

function validNetns(ns: string): boolean {
  if (ns.includes('/')) return path.isAbsolute(ns);
  return /^[A-Za-z0-9_.-]+$/.test(ns) && ns !== '.' && ns !== '..';
}

/** Runs an option parser, turning its error into the network's. */
function option<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new NetworkError('options', errorMessage(err));
  }
}

/** Serializes operations per key (a sandbox's setUp and tearDown never interleave); other keys run in parallel. */
class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  /** Whether an operation on the key is running or waiting. */
  busy(key: string): boolean {
    return this.tails.has(key);
  }

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const result = prev.then(fn);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}
