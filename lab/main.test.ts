import test from 'ava';
import { resolve } from 'node:path';
import { parseLabFlags } from './main';

test('lab flags: defaults, commands and load files', (t) => {
  const up = parseLabFlags(['up']);
  if (up === 'help') throw new Error('not help');
  t.like(up, {
    command: 'up',
    name: 'lab',
    nodes: 2,
    dataDir: '/var/lib/tsk',
    network: '172.30.0.0/24',
    address: '127.0.0.1:6443',
    httpAddress: '127.0.0.1:6080',
    timeoutMs: 180_000,
    subnets: 1,
    podNetworkBackend: undefined,
  });
  t.like(parseLabFlags(['up', '--subnets', '2', '--pod-network-backend', 'host-gw']), { subnets: 2, podNetworkBackend: 'host-gw' });
  t.like(parseLabFlags(['load', '--name', 'x', 'a.tar', 'b.tar']), { command: 'load', name: 'x', files: ['a.tar', 'b.tar'] });
  t.like(parseLabFlags(['kill', 'lab-node-1']), { command: 'kill', files: ['lab-node-1'] });
  t.like(parseLabFlags(['up', '--node-monitor-grace-period', '10s']), { nodeMonitorGracePeriod: '10s', servers: 1 });
  t.like(parseLabFlags(['up', '--cpu-prof', '/tmp/prof']), { cpuProfDir: '/tmp/prof' });
  t.like(parseLabFlags(['up', '--cpu-prof', 'prof']), { cpuProfDir: resolve('prof') }, 'absolute: the lab runs elsewhere');
  t.like(parseLabFlags(['up']), { cpuProfDir: undefined });
  t.is(parseLabFlags(['--help']), 'help');
});

test('lab flags: mistakes name the flag or the command', (t) => {
  t.throws(() => parseLabFlags([]), { message: /a command is required: up, down, status, load, kill, start, partition or heal/ });
  t.throws(() => parseLabFlags(['stop']), { message: /unknown lab command "stop"/ });
  t.throws(() => parseLabFlags(['kill']), { message: /kill: name one machine/ });
  t.throws(() => parseLabFlags(['heal', 'a', 'b']), { message: /heal: name one machine/ });
  t.throws(() => parseLabFlags(['up', '--servers', '0']), { message: /--servers must be 1 or more, not 0/ });
  t.throws(() => parseLabFlags(['up', '--node-monitor-grace-period', 'soon']), { message: /--node-monitor-grace-period: "soon" is not a duration/ });
  t.throws(() => parseLabFlags(['up', 'extra']), { message: /unexpected argument "extra"/ });
  t.throws(() => parseLabFlags(['load']), { message: /name at least one image archive/ });
  t.throws(() => parseLabFlags(['up', '--nodes', 'x']), { message: /--nodes must be 1-250/ });
  t.throws(() => parseLabFlags(['up', '--timeout', '0']), { message: /--timeout/ });
  t.throws(() => parseLabFlags(['up', '--address', 'localhost']), { message: /--address: "localhost" is not HOST:PORT/ });
  t.throws(() => parseLabFlags(['up', '--network', '10.0.0.0/30']), { message: /prefix must be between/ });
  t.throws(() => parseLabFlags(['up', '--bogus']), { message: /bogus/ });
  t.throws(() => parseLabFlags(['up', '--subnets', '0']), { message: /--subnets must be 1-8, not 0/ });
  t.throws(() => parseLabFlags(['up', '--cpu-prof', '']), { message: /--cpu-prof: name a directory/ });
  t.throws(() => parseLabFlags(['up', '--pod-network-backend', 'udp']), { message: '--pod-network-backend: "udp" must be vxlan or host-gw' });
});
