// Golden tests of BridgeNetwork (bridge.ts): the exact commands it runs for
// setUp and tearDown in each kind of node namespace, its idempotency, its
// errors (naming the step and the command) and its rollback, through a fake
// CommandRunner. integration/network.test.ts runs it for real.

import test from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { batchFailures, BridgeNetwork, BridgeNetworkOptions, vethName } from './bridge';
import { CommandResult, CommandRunner, NetworkError } from './commands';

const SB = 'a'.repeat(64);
const NETNS = '/data/sandboxes/aaa/net';

/** Records every command (and each line of its input, indented); answers from `respond`, else success with no output. */
class FakeRunner implements CommandRunner {
  readonly commands: string[] = [];
  constructor(private readonly respond: (cmd: string, stdin: string) => Partial<CommandResult> | undefined = () => undefined) {}

  async run(argv: string[], stdin = ''): Promise<CommandResult> {
    const cmd = argv.join(' ');
    this.commands.push(
      cmd,
      ...stdin
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => `  ${l}`),
    );
    return { code: 0, stdout: '', stderr: '', ...this.respond(cmd, stdin) };
  }
}

/** A node where nothing exists yet: link lookups say "does not exist". */
function emptyNode(cmd: string): Partial<CommandResult> | undefined {
  const m = / link show (\S+)$/.exec(cmd);
  if (m) return { code: 1, stderr: `Device "${m[1]}" does not exist.\n` };
  return undefined;
}

function network(t: { teardown(fn: () => void): void }, runner: CommandRunner, opts: Partial<BridgeNetworkOptions> = {}): BridgeNetwork {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-bridge-unit-'));
  t.teardown(() => fs.rmSync(stateDir, { recursive: true, force: true }));
  return new BridgeNetwork({ podCidr: '10.244.1.0/24', stateDir, runner, ...opts });
}

const VETH = vethName(SB);

/** The golden tail of every setUp: the veth made and made the bridge's port in one process, then eth0, its address and route in the sandbox. */
function wireCommands(nodeIp: string, ip: string, mtu = 1500): string[] {
  return [
    `${nodeIp} -force -batch -`,
    `  link add ${VETH} mtu ${mtu} type veth peer name eth0 mtu ${mtu} netns ${NETNS}`,
    `  link set ${VETH} master tsk0`,
    `  link set ${VETH} type bridge_slave hairpin on`,
    `  link set ${VETH} up`,
    `nsenter --net=${NETNS} ip -batch -`,
    '  link set lo up',
    `  addr replace ${ip}/24 brd + dev eth0`,
    '  link set eth0 up',
    '  route replace default via 10.244.1.1 dev eth0',
  ];
}

test('the veth name is "veth" and 8 hex digits of the sandbox ID, within 15 characters', (t) => {
  t.regex(VETH, /^veth[0-9a-f]{8}$/);
  t.not(vethName('b'.repeat(64)), VETH);
  t.is(vethName(SB), VETH);
});

test('setUp in a named node namespace: bridge, forwarding, veth, address and route (golden)', async (t) => {
  const runner = new FakeRunner(emptyNode);
  const net = network(t, runner, { netns: 'tsk-nt-x', mtu: 1400 });
  t.deepEqual(await net.setUp(SB, NETNS), { ips: ['10.244.1.2'] });
  t.deepEqual(runner.commands, [
    'ip -n tsk-nt-x -j -d link show tsk0',
    'ip -n tsk-nt-x link add tsk0 mtu 1400 type bridge',
    'ip -n tsk-nt-x -batch -',
    '  addr replace 10.244.1.1/24 brd + dev tsk0',
    '  link set tsk0 up',
    'nsenter --net=/var/run/netns/tsk-nt-x sysctl -w net.ipv4.ip_forward=1',
    'nsenter --net=/var/run/netns/tsk-nt-x sysctl -w net.bridge.bridge-nf-call-iptables=1',
    ...wireCommands('ip -n tsk-nt-x', '10.244.1.2', 1400),
  ]);
});

test('the node namespace by path goes through nsenter; unset, commands run in our own', async (t) => {
  const byPath = new FakeRunner(emptyNode);
  await network(t, byPath, { netns: '/run/node-ns', bridgeName: 'cbr0' }).setUp(SB, NETNS);
  t.is(byPath.commands[0], 'nsenter --net=/run/node-ns ip -j -d link show cbr0');
  t.is(byPath.commands[5], 'nsenter --net=/run/node-ns sysctl -w net.ipv4.ip_forward=1');
  t.true(byPath.commands.includes('nsenter --net=/run/node-ns ip -force -batch -'));
  const own = new FakeRunner(emptyNode);
  await network(t, own).setUp(SB, NETNS);
  t.is(own.commands[1], 'ip link add tsk0 mtu 1500 type bridge');
  t.is(own.commands[2], 'ip -batch -');
  t.is(own.commands[5], 'sysctl -w net.ipv4.ip_forward=1');
});

test('setUp again returns the same address, keeps the veth (its "File exists" is no error) and sets the bridge up only once', async (t) => {
  let vethExists = false;
  const runner = new FakeRunner((cmd, stdin) => {
    if (cmd.endsWith('link show tsk0')) return { stdout: '[{"ifname":"tsk0","linkinfo":{"info_kind":"bridge"}}]' };
    if (stdin.includes(`link add ${VETH}`)) {
      if (vethExists) return { code: 1, stderr: 'RTNETLINK answers: File exists\nCommand failed -:1\n' };
      vethExists = true;
    }
    return emptyNode(cmd);
  });
  const net = network(t, runner, { netns: 'n' });
  t.deepEqual(await net.setUp(SB, NETNS), { ips: ['10.244.1.2'] });
  t.false(
    runner.commands.some((c) => c.endsWith('type bridge')),
    'an existing bridge is not created again',
  );
  runner.commands.length = 0;
  t.deepEqual(await net.setUp(SB, NETNS), { ips: ['10.244.1.2'] });
  t.deepEqual(runner.commands, wireCommands('ip -n n', '10.244.1.2'));
  t.deepEqual(await net.setUp('b'.repeat(64), NETNS), { ips: ['10.244.1.3'] }, 'another sandbox, another address');
});

test('tearDown deletes the veth and frees the address; again, or with the device gone, it succeeds', async (t) => {
  let gone = false;
  const runner = new FakeRunner((cmd) => {
    if (cmd.includes('link del')) {
      const r = gone ? { code: 1, stderr: `Cannot find device "${VETH}"` } : undefined;
      gone = true;
      return r;
    }
    return emptyNode(cmd);
  });
  const net = network(t, runner, { netns: 'n' });
  await net.setUp(SB, NETNS);
  runner.commands.length = 0;
  await net.tearDown(SB, NETNS);
  t.deepEqual(runner.commands, [`ip -n n link del ${VETH}`]);
  t.is(net.addressOf(SB), undefined);
  await net.tearDown(SB, NETNS);
  await net.tearDown('c'.repeat(64), '/gone/net');
  t.is(runner.commands.length, 3);
});

test('garbageCollect frees the addresses and veths of sandboxes that are gone, and only those', async (t) => {
  const runner = new FakeRunner(emptyNode);
  const net = network(t, runner, { netns: 'n' });
  const [b, c] = ['b'.repeat(64), 'c'.repeat(64)];
  await net.setUp(SB, NETNS);
  await net.setUp(b, NETNS);
  await net.setUp(c, NETNS);
  runner.commands.length = 0;
  t.deepEqual((await net.garbageCollect([b])).sort(), ['10.244.1.2', '10.244.1.4']);
  t.deepEqual(runner.commands.sort(), [`ip -n n link del ${vethName(c)}`, `ip -n n link del ${VETH}`].sort());
  t.is(net.addressOf(b), '10.244.1.3');
  t.is(net.addressOf(SB), undefined);
  t.deepEqual(await net.garbageCollect([b]), []);
});

test('a failing step names the step and the command, and a fresh setUp gives back its address and veth', async (t) => {
  const runner = new FakeRunner((cmd, stdin) => {
    if (stdin.includes('route replace')) return { code: 1, stderr: 'Error: Nexthop has invalid gateway.\nCommand failed -:4\n' };
    return emptyNode(cmd);
  });
  const net = network(t, runner, { netns: 'n' });
  const err = await t.throwsAsync(net.setUp(SB, NETNS));
  t.true(err instanceof NetworkError);
  t.is(
    err?.message,
    `pod network: add default route via 10.244.1.1: nsenter --net=${NETNS} ip route replace default via 10.244.1.1 dev eth0: Error: Nexthop has invalid gateway.`,
  );
  t.is(runner.commands.at(-1), `ip -n n link del ${VETH}`, 'rolled back');
  t.is(net.addressOf(SB), undefined, 'the address is free again');
});

test('a batch that fails without naming its line names all its steps', async (t) => {
  const runner = new FakeRunner((cmd) => (cmd.startsWith('nsenter --net=/data') ? { code: 127, stderr: 'nsenter: not found' } : emptyNode(cmd)));
  const err = await t.throwsAsync(network(t, runner, { netns: 'n' }).setUp(SB, NETNS));
  t.is(
    err?.message,
    `pod network: bring lo up in the sandbox, set eth0 address 10.244.1.2/24, bring eth0 up, add default route via 10.244.1.1: nsenter --net=${NETNS} ip -batch -: nsenter: not found`,
  );
});

test("a veth that cannot be created is reported with ip's stderr; the steps after it failing too do not hide it", async (t) => {
  const failed = 'RTNETLINK answers: Operation not permitted\nCommand failed -:1\nCannot find device "x"\nCommand failed -:2\n';
  const runner = new FakeRunner((cmd, stdin) => (stdin.includes(`link add ${VETH}`) ? { code: 1, stderr: failed } : emptyNode(cmd)));
  const err = await t.throwsAsync(network(t, runner, { netns: 'n' }).setUp(SB, NETNS));
  t.is(
    err?.message,
    `pod network: create veth ${VETH}: ip -n n link add ${VETH} mtu 1500 type veth peer name eth0 mtu 1500 netns ${NETNS}: RTNETLINK answers: Operation not permitted`,
  );
});

test('batchFailures: each failed line of ip -batch with the message before it', (t) => {
  t.deepEqual(batchFailures('RTNETLINK answers: File exists\nCommand failed -:1\nCannot find device "nope"\nCommand failed -:4\n'), [
    { line: 1, message: 'RTNETLINK answers: File exists' },
    { line: 4, message: 'Cannot find device "nope"' },
  ]);
  t.deepEqual(batchFailures('nsenter: not found'), []);
});

test("a device in the bridge's name that is not a bridge is refused; a failed bridge setup is retried next time", async (t) => {
  let kind = 'dummy';
  const runner = new FakeRunner((cmd) => (cmd.endsWith('link show tsk0') ? { stdout: `[{"linkinfo":{"info_kind":"${kind}"}}]` } : emptyNode(cmd)));
  const net = network(t, runner, { netns: 'n' });
  await t.throwsAsync(net.setUp(SB, NETNS), { message: 'pod network: check bridge tsk0: tsk0 exists and is a dummy, not a bridge' });
  t.is(net.addressOf(SB), undefined, 'nothing allocated');
  kind = 'bridge';
  t.deepEqual(await net.setUp(SB, NETNS), { ips: ['10.244.1.2'] });
});

test('a full range is an allocate error', async (t) => {
  const net = network(t, new FakeRunner(emptyNode), { netns: 'n', podCidr: '10.244.1.0/30' });
  await net.setUp(SB, NETNS);
  await t.throwsAsync(net.setUp('b'.repeat(64), NETNS), { message: 'pod network: allocate IP: no free address in 10.244.1.0/30 (1 addresses, all in use)' });
});

test('concurrent setUps of one sandbox get one address; of two sandboxes, two', async (t) => {
  const net = network(t, new FakeRunner(emptyNode), { netns: 'n' });
  const [a, b, c] = await Promise.all([net.setUp(SB, NETNS), net.setUp(SB, NETNS), net.setUp('b'.repeat(64), NETNS)]);
  t.deepEqual(a, b);
  t.notDeepEqual(a, c);
});

const BAD_OPTIONS: Array<[Partial<BridgeNetworkOptions>, string]> = [
  [{ podCidr: '10.244.1.0/33' }, 'pod network: options: podCidr "10.244.1.0/33": a /33 has no room for a gateway and a pod (at most /30)'],
  [{ bridgeName: 'a-bridge-name-too-long' }, 'pod network: options: bridgeName "a-bridge-name-too-long": 1 to 15 letters, digits, "_", "." or "-"'],
  [{ mtu: 10 }, 'pod network: options: mtu 10: an integer from 68 to 65535'],
  [{ netns: 'rel/path' }, 'pod network: options: netns "rel/path": a name under /var/run/netns or an absolute path'],
  [{ netns: '..' }, 'pod network: options: netns "..": a name under /var/run/netns or an absolute path'],
];

for (const [opts, message] of BAD_OPTIONS) {
  test(`bad options: ${JSON.stringify(opts)}`, (t) => {
    t.throws(() => network(t, new FakeRunner(), opts), { message, instanceOf: NetworkError });
  });
}

test('without br_netfilter the module is loaded, then bridged traffic passes iptables; a failure names the step', async (t) => {
  let loaded = false;
  const missingModule = (cmd: string): Partial<CommandResult> | undefined => {
    if (cmd.endsWith('modprobe br_netfilter')) {
      loaded = true;
      return undefined;
    }
    if (cmd.includes('bridge-nf-call-iptables') && !loaded)
      return { code: 255, stderr: 'sysctl: cannot stat /proc/sys/net/bridge/bridge-nf-call-iptables: No such file or directory\n' };
    return emptyNode(cmd);
  };
  const runner = new FakeRunner(missingModule);
  await network(t, runner, { netns: 'tsk-nt-x' }).setUp(SB, NETNS);
  const sysctl = 'nsenter --net=/var/run/netns/tsk-nt-x sysctl -w net.bridge.bridge-nf-call-iptables=1';
  const i = runner.commands.indexOf(sysctl);
  t.deepEqual(runner.commands.slice(i, i + 3), [sysctl, 'modprobe br_netfilter', sysctl]);

  const noModule = new FakeRunner((cmd) =>
    cmd.endsWith('modprobe br_netfilter') ? { code: 1, stderr: 'modprobe: FATAL: Module br_netfilter not found\n' } : missingModule(cmd),
  );
  loaded = false;
  await t.throwsAsync(network(t, noModule, { netns: 'tsk-nt-x' }).setUp(SB, NETNS), {
    message: /load the br_netfilter kernel module.*Module br_netfilter not found/s,
  });
});

test('lost: sandboxes whose veth is gone from the node, or whose address is not held, with one link listing', async (t) => {
  const other = 'b'.repeat(64);
  const never = 'c'.repeat(64);
  let links = [VETH, vethName(other), vethName(never)];
  const runner = new FakeRunner((cmd) => {
    if (cmd === 'ip -n n -j link show') return { stdout: JSON.stringify(links.map((ifname) => ({ ifname }))) };
    return emptyNode(cmd);
  });
  const net = network(t, runner, { netns: 'n' });
  await net.setUp(SB, NETNS);
  await net.setUp(other, NETNS);
  t.deepEqual(await net.lost([SB, other]), [], 'both wired');
  t.deepEqual(await net.lost([SB, other, never]), [never], 'a veth without an address is no network');
  links = [vethName(other)];
  runner.commands.length = 0;
  t.deepEqual(await net.lost([SB, other]), [SB], 'its veth was deleted');
  t.deepEqual(runner.commands, ['ip -n n -j link show']);
  t.deepEqual(await net.lost([]), []);
});
