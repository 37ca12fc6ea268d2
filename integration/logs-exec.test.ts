// tsctl logs and tsctl exec end to end, through the API server and the
// kubelet's reverse tunnel: a real etcd and API server in this process
// (unix socket + TCP), `tsk kubelet` as a child process inside a network
// namespace of its own (only lo) that reaches the API server only through the
// unix socket, and tsctl as a child process talking TCP to the API server.
// The API server never dials the kubelet: every session goes down the tunnel.
//
// Checked: logs, --tail, --timestamps, -f following new lines; exec with
// stdout, stderr and the exit code; exec -i echoing stdin; Ctrl-C ending an
// exec and its command; kubectl's errors
// (missing pod, unbound pod, node not connected, missing container, several
// containers without -c); an API server restart after which the tunnel
// reconnects and logs work again.
//
// Everything (processes, namespace, containers, cgroups, mounts, temp dirs)
// is removed in after.always, also when a test fails.

import anyTest, { type TestFn } from 'ava';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Pod } from '../api/gen/tsk/v1/core';
import { startApiServer, type RunningApiServer } from '../apiserver/server';
import { Clientset } from '../client';
import { ImageStore } from '../kubelet/runtime/image/store';
import { NativeRuntime } from '../kubelet/runtime/native-runtime';
import { eventually } from './support/client-harness';
import { runTsctl, TSCTL_BIN as TSCTL, TSK_BIN as TSK, type Run } from './support/run';
import { startTestEtcd } from './support/etcd';
import { killProcess, run, startBusyboxRegistry, startForwarderInNamespace } from './support/netns';
import { CleanupStack } from './support/cleanups';
import { cleanupRuntime } from './support/runtime-env';
import { testTls, writeTestKubeconfig } from './support/pki';

interface Env {
  dir: string;
  sock: string;
  etcdUrl: string;
  image: string;
  ns: string;
  nodeName: string;
  dataDir: string;
  /** The admin context; with --kubeconfig its credentials go with any --server (the API server moves on restart). */
  kubeconfig: string;
  /** Shared by reference: ava gives each test a shallow copy of the context. */
  live: { api: RunningApiServer; clientset: Clientset; kubelet: ChildProcess | undefined };
  log: string[];
  cleanups: CleanupStack;
}

const test = anyTest as TestFn<Env>;

async function startApi(env: Pick<Env, 'etcdUrl' | 'sock'>): Promise<RunningApiServer> {
  return startApiServer({
    tls: (await testTls()).serving,
    etcdServers: [env.etcdUrl],
    address: `127.0.0.1:0,unix:${env.sock}`,
    httpAddress: '127.0.0.1:0',
    log: () => undefined,
  });
}

/** Runs tsctl against the API server's TCP address. */
function tsctl(env: Env, args: string[], stdin?: string): Promise<Run> {
  // The command first (tsctl's syntax), the server right after it (never after a "--").
  const [command = '', ...rest] = args;
  return runTsctl([command, '--server', env.live.api.grpcAddress, '--kubeconfig', env.kubeconfig, ...rest], {
    timeoutMs: 30_000,
    ...(stdin === undefined ? {} : { stdin }),
  });
}

test.before(async (t) => {
  const cleanups = new CleanupStack();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-le-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const env = { dir, sock: path.join(dir, 'api.sock'), cleanups, log: [] as string[] } as Env;
  t.context = env;
  const etcd = await startTestEtcd(cleanups);
  env.etcdUrl = etcd.etcd.clientUrl;
  const api = await startApi(env);
  env.live = { api, clientset: new Clientset(api.grpcAddress, (await testTls()).admin), kubelet: undefined };
  env.kubeconfig = await writeTestKubeconfig(path.join(dir, 'config'), api.grpcAddress);
  cleanups.push(() => env.live.api.stop());
  cleanups.push(() => env.live.clientset.close());

  const registry = await startBusyboxRegistry(cleanups, dir);
  env.image = registry.image;

  env.ns = `tsk-le-${randomBytes(4).toString('hex')}`;
  env.nodeName = `le-node-${randomBytes(3).toString('hex')}`;
  env.dataDir = path.join(dir, 'data');
  run('ip', ['netns', 'add', env.ns]);
  cleanups.push(() => void spawnSync('ip', ['netns', 'delete', env.ns]));
  run('ip', ['-n', env.ns, 'link', 'set', 'lo', 'up']);
  const forwarder = await startForwarderInNamespace(env.ns, registry.port, registry.socket);
  cleanups.push(() => killProcess(forwarder));
  cleanups.push(async () => {
    const k = env.live.kubelet;
    env.live.kubelet = undefined;
    if (k) await killProcess(k);
    if (fs.existsSync(env.dataDir)) await cleanupRuntime(new NativeRuntime({ dataDir: env.dataDir, images: new ImageStore(env.dataDir) }), env.dataDir);
  });
  // nsenter --net only (ip netns exec would remount /sys and hide the cgroups).
  const kubelet = spawn(
    'nsenter',
    [
      `--net=/var/run/netns/${env.ns}`,
      process.execPath,
      TSK,
      'kubelet',
      '--server',
      `unix:${env.sock}`,
      '--kubeconfig',
      env.kubeconfig,
      '--hostname-override',
      env.nodeName,
      '--data-dir',
      env.dataDir,
      '--network',
      'loopback',
      '--node-ip',
      '127.0.0.1',
      '--node-status-update-frequency',
      '1s',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const keep = (d: Buffer): void => {
    env.log.push(
      ...d
        .toString()
        .split('\n')
        .filter((l) => l !== ''),
    );
    if (env.log.length > 400) env.log.splice(0, env.log.length - 400);
  };
  kubelet.stdout.on('data', keep);
  kubelet.stderr.on('data', keep);
  env.live.kubelet = kubelet;
});

test.after.always((t) => t.context?.cleanups?.run());

test.afterEach.always((t) => {
  if (!t.passed && t.context.log.length > 0) t.log(`kubelet log (last lines):\n${t.context.log.slice(-60).join('\n')}`);
});

/** Five lines at once, then "more N" lines once /tmp/more exists, then sleeps. */
const PRINTER = 'for i in 1 2 3 4 5; do echo line $i; done; while [ ! -f /tmp/more ]; do sleep 0.1; done; echo more 1; echo more 2; exec sleep 3600';

async function runningPod(env: Env, name: string, containers: { name: string; command: string[]; stdin?: boolean; stdinOnce?: boolean }[]): Promise<void> {
  await env.live.clientset.pods.create({
    metadata: { name, namespace: 'default' },
    spec: { nodeName: env.nodeName, terminationGracePeriodSeconds: 1, containers: containers.map((c) => ({ ...c, image: env.image })) },
  });
  let last: Pod | undefined;
  await eventually(
    async () => {
      last = await env.live.clientset.pods.get(name, 'default');
      return (
        (last.status?.containerStatuses ?? []).length === containers.length &&
        (last.status?.containerStatuses ?? []).every((s) => s.state?.running !== undefined)
      );
    },
    120_000,
    `pod ${name} running`,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last status: ${JSON.stringify(last?.status)}`);
  });
}

test.serial('tsctl logs prints the lines; --tail and --timestamps', async (t) => {
  const env = t.context;
  await runningPod(env, 'printer', [{ name: 'main', command: ['sh', '-c', PRINTER] }]);
  let r: Run | undefined;
  await eventually(
    async () => {
      r = await tsctl(env, ['logs', 'printer']);
      return r.code === 0 && r.stdout.includes('line 5');
    },
    30_000,
    'tsctl logs shows the lines',
  ).catch((err: Error) => {
    throw new Error(`${err.message}: ${JSON.stringify(r)}`);
  });
  t.is(r!.stdout, 'line 1\nline 2\nline 3\nline 4\nline 5\n');
  const tail = await tsctl(env, ['logs', 'printer', '--tail', '2', '-c', 'main']);
  t.is(tail.code, 0, tail.stderr);
  t.is(tail.stdout, 'line 4\nline 5\n');
  const ts = await tsctl(env, ['logs', 'pod/printer', '--tail', '1', '--timestamps']);
  t.regex(ts.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d) line 5\n$/);
});

test.serial('tsctl logs -f follows new lines; tsctl exec runs a command in the container', async (t) => {
  const env = t.context;
  const follow = spawn(process.execPath, [TSCTL, 'logs', '--server', env.live.api.grpcAddress, '--kubeconfig', env.kubeconfig, '-f', 'printer'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => killProcess(follow));
  let out = '';
  follow.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await eventually(() => out.includes('line 5\n'), 20_000, 'logs -f prints the existing lines');
  t.false(out.includes('more'));
  const touch = await tsctl(env, ['exec', 'printer', '--', 'touch', '/tmp/more']);
  t.is(touch.code, 0, touch.stderr);
  await eventually(() => out.includes('more 2\n'), 20_000, 'logs -f prints the new lines');
  t.is(out, 'line 1\nline 2\nline 3\nline 4\nline 5\nmore 1\nmore 2\n');
  t.is(follow.exitCode, null, 'still following');
  const exited = new Promise<number | null>((r) => follow.once('exit', (code) => r(code)));
  follow.kill('SIGINT');
  t.is(await exited, 0, 'Ctrl-C ends logs -f with 0');
});

test.serial('tsctl exec: stdout, stderr and the exit code of the command', async (t) => {
  const r = await tsctl(t.context, ['exec', 'printer', '--', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
  t.is(r.code, 3);
  t.is(r.stdout, 'out\n');
  t.is(r.stderr, 'err\n');
  const ok = await tsctl(t.context, ['exec', 'printer', '-c', 'main', '--', 'cat', '/tmp/more']);
  t.is(ok.code, 0, ok.stderr);
  // -t: the command runs on a terminal (tsk-exec's pty in the container's devpts).
  const tty = await tsctl(t.context, ['exec', '-t', 'printer', '--', 'tty']);
  t.is(tty.code, 0, tty.stderr);
  t.regex(tty.stdout, /^\/dev\/pts\/\d+\r?\n$/);
  const missing = await tsctl(t.context, ['exec', 'printer', '--', 'no-such-binary']);
  t.is(missing.code, 127);
  t.regex(missing.stderr, /executable file not found/);
});

test.serial('tsctl exec -i passes stdin (more than a window) to the command, and its end closes the command stdin', async (t) => {
  const input = Array.from({ length: 60_000 }, (_, i) => `stdin line ${i}`).join('\n') + '\n';
  const sum = await tsctl(t.context, ['exec', '-i', 'printer', '--', 'sh', '-c', 'cat > /tmp/in; md5sum < /tmp/in'], input);
  t.is(sum.stdout.split(' ')[0], createHash('md5').update(input).digest('hex'), 'stdin arrives whole and in order');
  const big = await tsctl(t.context, ['exec', 'printer', '--', 'cat', '/tmp/in']);
  t.is(big.stdout.length, input.length);
  t.true(big.stdout === input, 'output arrives whole and in order');
  const r = await tsctl(t.context, ['exec', '-i', 'printer', '--', 'cat'], input);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout.length, input.length, `code ${r.code} stderr ${r.stderr}`);
  t.is(r.stdout, input);
  const wc = await tsctl(t.context, ['exec', '-i', 'printer', '--', 'wc', '-l'], 'a\nb\nc\n');
  t.is(wc.stdout.trim(), '3');
});

test.serial('Ctrl-C ends tsctl exec with 130 and the command in the container is killed', async (t) => {
  const env = t.context;
  const child = spawn(
    process.execPath,
    [TSCTL, 'exec', '--server', env.live.api.grpcAddress, '--kubeconfig', env.kubeconfig, 'printer', '--', 'sh', '-c', 'echo started; exec sleep 300'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  t.teardown(() => killProcess(child));
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await eventually(() => out === 'started\n', 20_000, 'the command started');
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.kill('SIGINT');
  t.is(await exited, 130);
  await eventually(
    async () => {
      const ps = await tsctl(env, ['exec', 'printer', '--', 'ps']);
      return ps.code === 0 && ps.stdout.includes('sleep 3600') && !ps.stdout.includes('sleep 300\n');
    },
    20_000,
    'sleep 300 gone from the container',
  );
  t.pass();
});

test.serial(
  'tsctl attach: -i feeds a container made with stdin, its output and exit code come back; output only from now on; stdin refused without',
  async (t) => {
    const env = t.context;
    // stdinOnce: the end of tsctl's stdin closes the process's stdin, so the loop ends and the process exits 4.
    await runningPod(env, 'reader', [
      { name: 'main', stdin: true, stdinOnce: true, command: ['sh', '-c', 'while read l; do echo got $l; done; echo bye >&2; exit 4'] },
    ]);
    const r = await tsctl(env, ['attach', '-i', 'reader'], 'a\nb\n');
    t.is(r.code, 4, r.stderr);
    t.is(r.stdout, 'got a\ngot b\n');
    t.is(r.stderr, 'bye\n');

    // Without -i: what the main process prints from now on (not the ticks before attaching), until Ctrl-C.
    await runningPod(env, 'ticker', [{ name: 'main', command: ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.2; done'] }]);
    await eventually(async () => (await tsctl(env, ['logs', 'ticker'])).stdout.includes('tick 3\n'), 20_000, 'ticker ticks');
    const child = spawn(process.execPath, [TSCTL, 'attach', '--server', env.live.api.grpcAddress, '--kubeconfig', env.kubeconfig, 'ticker'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    t.teardown(() => killProcess(child));
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    await eventually(() => out.split('\n').length > 3, 20_000, 'attach prints new ticks');
    const first = Number(/^tick (\d+)\n/.exec(out)?.[1]);
    t.true(first > 3, `the first tick seen is new: ${out.slice(0, 40)}`);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGINT');
    t.is(await exited, 130, err);

    const refused = await tsctl(env, ['attach', '-i', 'printer'], 'x\n');
    t.is(refused.code, 1);
    t.regex(refused.stderr, /container main in pod printer does not have stdin enabled \(spec\.containers\[\]\.stdin\)/);
    t.regex((await tsctl(env, ['attach', 'nope'])).stderr, /pods "nope" not found/);
  },
);

test.serial('errors as kubectl words them', async (t) => {
  const env = t.context;
  const cs = env.live.clientset;
  const missing = await tsctl(env, ['logs', 'nope']);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /pods "nope" not found/);
  t.regex((await tsctl(env, ['exec', 'nope', '--', 'true'])).stderr, /pods "nope" not found/);

  await cs.pods.create({ metadata: { name: 'unbound', namespace: 'default' }, spec: { containers: [{ name: 'main', image: env.image }] } });
  const unbound = await tsctl(env, ['logs', 'unbound']);
  t.is(unbound.code, 1);
  t.regex(unbound.stderr, /pod unbound does not have a host assigned/);

  await cs.pods.create({
    metadata: { name: 'ghost-pod', namespace: 'default' },
    spec: { nodeName: 'ghost-node', containers: [{ name: 'main', image: env.image }] },
  });
  t.regex((await tsctl(env, ['logs', 'ghost-pod'])).stderr, /the node ghost-node is not connected/);

  const badContainer = await tsctl(env, ['logs', 'printer', '-c', 'nope']);
  t.is(badContainer.code, 1);
  t.regex(badContainer.stderr, /container nope is not valid for pod printer/);
  t.regex((await tsctl(env, ['exec', 'printer', '-c', 'nope', '--', 'true'])).stderr, /container nope is not valid for pod printer/);

  await runningPod(env, 'two', [
    { name: 'a', command: ['sh', '-c', 'echo from a; exec sleep 3600'] },
    { name: 'b', command: ['sh', '-c', 'echo from b; exec sleep 3600'] },
  ]);
  const noC = await tsctl(env, ['logs', 'two']);
  t.is(noC.code, 1);
  t.regex(noC.stderr, /a container name must be specified for pod two, choose one of: \[a b\]/);
  await eventually(async () => (await tsctl(env, ['logs', 'two', '-c', 'b'])).stdout === 'from b\n', 20_000, 'logs of container b');
  const hostname = await tsctl(env, ['exec', 'two', '-c', 'a', '--', 'hostname']);
  t.is(hostname.code, 0, hostname.stderr);
  t.is(hostname.stdout, 'two\n');
});

test.serial('after an API server restart the tunnel reconnects and logs work again', async (t) => {
  const env = t.context;
  await env.live.api.stop();
  env.live.clientset.close();
  env.live.api = await startApi(env);
  env.live.clientset = new Clientset(env.live.api.grpcAddress, (await testTls()).admin);
  let r: Run | undefined;
  await eventually(
    async () => {
      r = await tsctl(env, ['logs', 'printer', '--tail', '1']);
      return r.code === 0;
    },
    30_000,
    'logs after the restart',
  ).catch((err: Error) => {
    throw new Error(`${err.message}: ${JSON.stringify(r)}`);
  });
  t.is(r!.stdout, 'more 2\n');
  const ex = await tsctl(env, ['exec', 'printer', '--', 'sh', '-c', 'exit 7']);
  t.is(ex.code, 7, ex.stderr);
  const metrics = await fetch(`http://${env.live.api.httpAddress}/metrics`).then((res) => res.text());
  t.regex(metrics, /^apiserver_node_tunnels 1$/m);
  t.regex(metrics, /^apiserver_node_tunnel_sessions_total\{type="exec"\} 1$/m);
});
