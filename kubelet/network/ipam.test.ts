// Unit tests of host-local IPAM (ipam.ts) over a temporary state dir:
// allocation order, idempotency, release and round-robin reuse, exhaustion,
// restarts, and processes racing for addresses.

import test from 'ava';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { parsePodCidr } from './cidr';
import { HostLocalIpam, IpamError } from './ipam';

function stateDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-ipam-unit-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('addresses are given in order from the second one, and again for the same sandbox', (t) => {
  const ipam = new HostLocalIpam(stateDir(t), parsePodCidr('10.244.1.0/24'));
  t.is(ipam.allocate('a'), '10.244.1.2');
  t.is(ipam.allocate('b'), '10.244.1.3');
  t.is(ipam.allocate('a'), '10.244.1.2', 'idempotent');
  t.is(ipam.get('b'), '10.244.1.3');
  t.is(ipam.get('c'), undefined);
  t.is(fs.readFileSync(path.join(ipam.dir, '10.244.1.2'), 'utf8'), 'a\n', 'one file per address, holding the sandbox ID');
});

test('allocateNew claims the next free address without looking for one the sandbox holds', (t) => {
  const ipam = new HostLocalIpam(stateDir(t), parsePodCidr('192.0.2.8/29'));
  t.is(ipam.allocateNew('a'), '192.0.2.10');
  t.is(ipam.allocateNew('b'), '192.0.2.11');
  t.is(ipam.get('a'), '192.0.2.10');
  t.is(ipam.allocate('b'), '192.0.2.11', 'allocate still returns what a sandbox holds');
  t.throws(() => ipam.allocateNew('x/y'), { instanceOf: IpamError, message: /contains a newline, NUL or slash/ });
});

test('a freed address comes back only after the range went round; a full range is a clear error', (t) => {
  const ipam = new HostLocalIpam(stateDir(t), parsePodCidr('192.0.2.8/29'));
  const got = ['a', 'b', 'c', 'd', 'e'].map((id) => ipam.allocate(id));
  t.deepEqual(got, ['192.0.2.10', '192.0.2.11', '192.0.2.12', '192.0.2.13', '192.0.2.14']);
  const err = t.throws(() => ipam.allocate('f'));
  t.true(err instanceof IpamError);
  t.is(err?.message, 'no free address in 192.0.2.8/29 (5 addresses, all in use)');
  ipam.release('b');
  ipam.release('b');
  t.false(fs.existsSync(path.join(ipam.dir, '192.0.2.11')));
  t.is(ipam.allocate('f'), '192.0.2.11');
  ipam.release('a');
  ipam.release('c');
  t.is(ipam.allocate('g'), '192.0.2.12', 'round robin from the last reserved address');
  t.is(ipam.allocate('h'), '192.0.2.10', 'wraps round');
});

test('state survives a restart', (t) => {
  const dir = stateDir(t);
  const cidr = parsePodCidr('10.244.1.0/24');
  const first = new HostLocalIpam(dir, cidr);
  first.allocate('a');
  first.allocate('b');
  first.release('a');
  const second = new HostLocalIpam(dir, cidr);
  t.is(second.get('b'), '10.244.1.3');
  t.is(second.allocate('b'), '10.244.1.3');
  t.is(second.allocate('c'), '10.244.1.4', 'continues after the last reserved address');
  t.deepEqual([...second.allocations()].sort(), [
    ['10.244.1.3', 'b'],
    ['10.244.1.4', 'c'],
  ]);
});

test('an address claimed by someone else meanwhile is skipped, and an address outside a changed CIDR is not reported', (t) => {
  const dir = stateDir(t);
  const ipam = new HostLocalIpam(dir, parsePodCidr('10.244.1.0/24'));
  fs.writeFileSync(path.join(dir, '10.244.1.2'), 'other\n');
  t.is(ipam.allocate('a'), '10.244.1.3');
  const moved = new HostLocalIpam(dir, parsePodCidr('10.244.2.0/24'));
  t.is(moved.get('a'), undefined);
  t.is(moved.allocate('a'), '10.244.2.2');
  moved.release('a');
  t.deepEqual([...moved.allocations()], [['10.244.1.2', 'other']], 'release frees every address of the sandbox');
});

test('temporaries of dead processes are removed, bad sandbox IDs refused', (t) => {
  const dir = stateDir(t);
  // PID 2^22 + 1 is above the kernel's pid_max limit: no process has it.
  const stale = path.join(dir, `.reserve-${2 ** 22 + 1}-abcdef`);
  fs.writeFileSync(stale, 'x\n');
  const ipam = new HostLocalIpam(dir, parsePodCidr('10.244.1.0/24'));
  t.false(fs.existsSync(stale));
  t.throws(() => ipam.allocate('a\nb'), { instanceOf: IpamError });
  t.throws(() => ipam.allocate(''), { instanceOf: IpamError });
});

test('processes racing for addresses never share one', async (t) => {
  const dir = stateDir(t);
  const mod = path.join(__dirname, 'ipam.js');
  const cidrMod = path.join(__dirname, 'cidr.js');
  const script = `
    const { HostLocalIpam } = require(${JSON.stringify(mod)});
    const { parsePodCidr } = require(${JSON.stringify(cidrMod)});
    const ipam = new HostLocalIpam(${JSON.stringify(dir)}, parsePodCidr('10.244.1.0/24'));
    const out = [];
    for (let i = 0; i < 40; i++) out.push(ipam.allocate(process.argv[1] + '-' + i));
    console.log(JSON.stringify(out));`;
  const run = promisify(execFile);
  const results = await Promise.all(['p', 'q', 'r'].map((p) => run(process.execPath, ['-e', script, p])));
  const all = results.flatMap((r) => JSON.parse(r.stdout) as string[]);
  t.is(all.length, 120);
  t.is(new Set(all).size, 120, 'every address given once');
  const owners = new HostLocalIpam(dir, parsePodCidr('10.244.1.0/24')).allocations();
  t.is(owners.size, 120);
  t.deepEqual(
    fs.readdirSync(dir).filter((n) => n.startsWith('.')),
    [],
    'no temporaries left',
  );
});

test('an address released by another allocator and claimed again is seen with its new owner', (t) => {
  const dir = stateDir(t);
  const cidr = parsePodCidr('10.244.1.0/30');
  const mine = new HostLocalIpam(dir, cidr);
  const other = new HostLocalIpam(dir, cidr);
  t.is(mine.allocate('a'), '10.244.1.2');
  t.is(other.get('a'), '10.244.1.2');
  other.release('a');
  t.is(mine.get('a'), undefined, 'gone from the directory: gone here');
  t.is(other.allocate('b'), '10.244.1.2', 'the /30 has one pod address');
  t.is(mine.get('b'), '10.244.1.2');
  t.is(mine.get('a'), undefined);
});
