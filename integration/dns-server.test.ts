// tsk's DNS server on real sockets, inside a network namespace this test
// creates and removes (nothing in the host's): UDP and TCP, NXDOMAIN and
// NODATA with the SOA, SRV, an ExternalName's CNAME chased upstream, names
// forwarded to a fake upstream on 127.0.0.2 of the namespace (over UDP and
// TCP, the upstream's NXDOMAIN passed through), and a UDP answer too big for
// 512 bytes truncated while TCP carries it whole.

import test from 'ava';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { killProcess } from './support/netns';
import type { ProbeResult } from './support/dns-netns-probe';

const exec = promisify(execFile);
const PROBE = join(__dirname, 'support', 'dns-netns-probe.js');
const UPSTREAM = join(__dirname, 'support', 'fake-dns-upstream.js');

test('the DNS server in a network namespace: UDP, TCP, rcodes, SRV, CNAME, forwarding, truncation', async (t) => {
  const ns = `tsk-dnst-${randomBytes(3).toString('hex')}`;
  await exec('ip', ['netns', 'add', ns]);
  t.teardown(() => exec('ip', ['netns', 'del', ns]).then(() => undefined));
  await exec('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  const upstream = spawn('nsenter', [`--net=/var/run/netns/${ns}`, process.execPath, UPSTREAM, '127.0.0.2', '53'], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => killProcess(upstream));
  await new Promise<void>((ok, fail) => {
    upstream.stdout?.once('data', () => ok());
    upstream.once('exit', (code) => fail(new Error(`fake upstream exited with ${code}`)));
  });
  const { stdout } = await exec('nsenter', [`--net=/var/run/netns/${ns}`, process.execPath, PROBE], { timeout: 60_000 });
  const r = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as ProbeResult;

  t.deepEqual(r.udpA?.answers, [['A', 'web.demo.svc.cluster.local', '10.96.0.20']]);
  t.true(r.udpA?.aa);
  t.deepEqual(r.tcpA?.answers, r.udpA?.answers, 'TCP answers as UDP');
  t.deepEqual(r.srv?.answers, [['SRV', '_http._tcp.web.demo.svc.cluster.local', { priority: 0, weight: 100, port: 80, target: 'web.demo.svc.cluster.local' }]]);
  t.like(r.nxdomain, { rcode: 'NXDOMAIN', answers: [], authorities: ['SOA'] });
  t.like(r.nodata, { rcode: 'NOERROR', answers: [], authorities: ['SOA'] });
  t.like(r.forwarded, { rcode: 'NOERROR', aa: false, answers: [['A', 'upstream.example', '192.0.2.99']] });
  t.deepEqual(r.forwardedTcp?.answers, [['A', 'upstream.example', '192.0.2.99']], 'forwarded over TCP');
  t.is(r.forwardedNx?.rcode, 'NXDOMAIN', "the upstream's NXDOMAIN is passed through");
  t.deepEqual(r.cname?.answers, [
    ['CNAME', 'ext.demo.svc.cluster.local', 'upstream.example'],
    ['A', 'upstream.example', '192.0.2.99'],
  ]);
  t.like(r.bigUdp, { tc: true, answers: [] });
  t.is(r.bigTcp?.tc, false);
  t.is(r.bigTcp?.answers.length, 40);
});
