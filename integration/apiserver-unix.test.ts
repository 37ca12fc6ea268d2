// The API server on a unix socket: how processes in network namespaces of
// their own (tsk lab nodes, the kubelet tests) reach an API server that
// listens only on loopback in the host namespace, with no network link.

import test from 'ava';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { startApiServer } from '../apiserver/server';
import { Clientset } from '../client/clientset';
import { startTestEtcd } from './support/etcd';
import { testTls } from './support/pki';
import { startTestApiServer } from './support/apiserver';
import { tempDir } from './support/temp';

const execFileAsync = promisify(execFile);

test('the API server serves TCP and a unix socket at once; the socket file goes when it stops', async (t) => {
  const etcd = await startTestEtcd(t);
  const sock = join(tempDir(t, 'tsk-unix-'), 'run', 'api.sock');
  const server = await startApiServer({
    tls: (await testTls()).serving,
    etcdServers: [etcd.etcd.clientUrl],
    address: `127.0.0.1:0,unix://${sock}`,
    httpAddress: '127.0.0.1:0',
    log: () => undefined,
  });
  let stopped = false;
  t.teardown(() => (stopped ? undefined : server.stop()));
  t.regex(server.grpcAddress, /^127\.0\.0\.1:\d+$/);
  t.deepEqual(server.grpcAddresses.slice(1), [`unix:${sock}`]);
  const viaUnix = new Clientset(`unix:${sock}`, (await testTls()).admin);
  const viaTcp = new Clientset(server.grpcAddress, (await testTls()).admin);
  t.teardown(() => {
    viaUnix.close();
    viaTcp.close();
  });
  await viaUnix.namespaces.create({ metadata: { name: 'over-unix' } });
  t.is((await viaTcp.namespaces.get('over-unix')).metadata?.name, 'over-unix');
  await server.stop();
  stopped = true;
  t.false(existsSync(sock), 'the socket file is removed on stop');
});

test('a socket file left by a dead server is replaced; a live one or a non-socket is refused', async (t) => {
  const etcd = await startTestEtcd(t);
  const dir = tempDir(t, 'tsk-unix-');
  const sock = join(dir, 'api.sock');
  // A stale socket: bound by a process that is gone (simulated: listen, then close without unlinking).
  execFileSync(process.execPath, ['-e', `const s=require('net').createServer();s.listen(${JSON.stringify(sock)},()=>process.exit(0))`]);
  t.true(existsSync(sock));
  const server = await startApiServer({
    tls: (await testTls()).serving,
    etcdServers: [etcd.etcd.clientUrl],
    address: `unix:${sock}`,
    httpAddress: '127.0.0.1:0',
    log: () => undefined,
  });
  t.teardown(() => server.stop());
  const cs = new Clientset(`unix:${sock}`, (await testTls()).admin);
  t.teardown(() => cs.close());
  t.truthy((await cs.namespaces.get('default')).metadata?.uid);

  const other = startApiServer({
    tls: (await testTls()).serving,
    etcdServers: [etcd.etcd.clientUrl],
    address: `unix:${sock}`,
    httpAddress: '127.0.0.1:0',
    log: () => undefined,
  });
  await t.throwsAsync(other, { message: new RegExp(`cannot listen on unix:${sock} for gRPC`) });
  t.truthy((await cs.namespaces.get('default')).metadata?.uid, 'the live server keeps its socket');

  const notSocket = join(dir, 'file');
  execFileSync('touch', [notSocket]);
  await t.throwsAsync(
    startApiServer({
      tls: (await testTls()).serving,
      etcdServers: [etcd.etcd.clientUrl],
      address: `unix:${notSocket}`,
      httpAddress: '127.0.0.1:0',
      log: () => undefined,
    }),
    {
      message: /exists and is not a socket/,
    },
  );
  t.true(existsSync(notSocket));
});

test('a process in a network namespace with no link to the host reaches the API server through its unix socket only', async (t) => {
  const etcd = await startTestEtcd(t);
  const sock = join(tempDir(t, 'tsk-unix-'), 'api.sock');
  const { server } = await startTestApiServer(t, etcd, { address: `127.0.0.1:0,unix:${sock}` });
  const ns = `tsk-ut-${randomBytes(4).toString('hex')}`;
  execFileSync('ip', ['netns', 'add', ns]);
  t.teardown(() => void spawnSync('ip', ['netns', 'delete', ns]));
  execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  t.is(execFileSync('ip', ['-n', ns, '-o', 'link']).toString().trim().split('\n').length, 1, 'the namespace has only lo');

  const clientset = resolve(__dirname, '..', 'client', 'clientset.js');
  const admin = (await testTls()).admin;
  const script = (address: string): string =>
    `const { Clientset } = require(${JSON.stringify(clientset)});
     const cs = new Clientset(${JSON.stringify(address)}, ${JSON.stringify(admin)});
     cs.namespaces.get('default', undefined).then((n) => { console.log('ok ' + n.metadata.name); cs.close(); },
       (e) => { console.log('error ' + e.name); cs.close(); });`;
  // Asynchronous: the API server answers from this very process.
  const run = async (address: string): Promise<string> =>
    (await execFileAsync('ip', ['netns', 'exec', ns, process.execPath, '-e', script(address)], { timeout: 30_000 })).stdout.trim();
  t.is(await run(`unix:${sock}`), 'ok default');
  t.is(await run(server.grpcAddress), 'error ServiceUnavailableError', "the host's loopback is not reachable from the namespace");
});

test('a TCP port in use is refused with the address named', async (t) => {
  const etcd = await startTestEtcd(t);
  const busy = createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  t.teardown(() => void busy.close());
  const addr = busy.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  await t.throwsAsync(
    startApiServer({
      tls: (await testTls()).serving,
      etcdServers: [etcd.etcd.clientUrl],
      address: `127.0.0.1:${port}`,
      httpAddress: '127.0.0.1:0',
      log: () => undefined,
    }),
    {
      message: new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port} for gRPC`),
    },
  );
});
