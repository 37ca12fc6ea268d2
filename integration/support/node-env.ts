// One node's test environment, shared by the integration tests that run a
// real `tsk kubelet` against a real API server: an etcd and an API server in
// this process (TCP and a unix socket), the test registry with busybox, a
// network namespace of the test's own (only lo; the registry reached through
// a unix-socket forwarder) and, unless told otherwise, the kubelet in it.
//
// Tests create the environment first (so t.context holds its cleanups even
// when a later step fails), then start it:
//   test.before(async (t) => { t.context = newNodeEnv('rr'); await startNodeEnv(t.context); });
//   test.after.always((t) => t.context?.cleanups?.run());

import { spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Pod } from '../../api/gen/tsk/v1/core';
import { startApiServer, type RunningApiServer } from '../../apiserver/server';
import { Clientset } from '../../client';
import { eventually } from './wait';
import { CleanupStack } from './cleanups';
import { startTestEtcd } from './etcd';
import { startKubeletInNamespace, type KubeletProcessOptions } from './kubelet-process';
import { killProcess, run, startBusyboxRegistry, startForwarderInNamespace, type BusyboxRegistry } from './netns';
import { testTls, writeTestKubeconfig } from './pki';

export interface NodeEnv {
  /** The test's temp dir (removed at the end). */
  dir: string;
  cleanups: CleanupStack;
  api: RunningApiServer;
  /** The admin's clientset over TCP. */
  clientset: Clientset;
  /** The API server's unix socket, as the kubelet reaches it. */
  sock: string;
  /** The kubelet's kubeconfig (the unix socket). */
  kubeconfig: string;
  registry: BusyboxRegistry;
  /** The busybox image in the test registry. */
  image: string;
  /** The network namespace the kubelet runs in. */
  netns: string;
  /** A world-writable host directory pods may mount to hand files back (out/). */
  out: string;
  dataDir: string;
  nodeName: string;
  kubelet: { proc: ChildProcess | undefined };
  /** The kubelet's last output lines. */
  log: string[];
}

export interface NodeEnvOptions {
  /** More registries (port and unix socket) to forward into the namespace. */
  forward?: ReadonlyArray<{ port: number; socket: string }>;
  /** Runs after the registry is up and before the kubelet starts (objects the first pods need, images to push). */
  beforeKubelet?: () => Promise<void>;
  /** Leave the kubelet to the test (startNodeKubelet). */
  noKubelet?: boolean;
  kubelet?: KubeletProcessOptions;
  /** The API server signs certificates with the test CA (tsk.v1.Bootstrap): the kubelet's port gets a serving certificate of the cluster CA. */
  bootstrap?: boolean;
  /** Serve the Kubernetes REST API too (on a free loopback port: env.api.restAddress). */
  rest?: boolean;
}

/** The environment's paths and names, and its cleanup stack; nothing started yet. */
export function newNodeEnv<E extends NodeEnv = NodeEnv>(prefix: string): E {
  const cleanups = new CleanupStack();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `tsk-${prefix}-`));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const out = path.join(dir, 'out');
  fs.mkdirSync(out, { mode: 0o777 });
  fs.chmodSync(out, 0o777);
  const env: Partial<NodeEnv> = {
    dir,
    cleanups,
    out,
    dataDir: path.join(dir, 'data'),
    nodeName: `${prefix}-${randomBytes(3).toString('hex')}`,
    netns: `tsk-${prefix}-${randomBytes(4).toString('hex')}`,
    sock: path.join(dir, 'api.sock'),
    kubeconfig: path.join(dir, 'config'),
    kubelet: { proc: undefined },
    log: [],
  };
  return env as E;
}

/** Starts etcd, the API server, the registry, the namespace and (unless noKubelet) the kubelet. */
export async function startNodeEnv(env: NodeEnv, opts: NodeEnvOptions = {}): Promise<void> {
  const { cleanups } = env;
  const etcd = await startTestEtcd(cleanups);
  env.api = await startApiServer({
    tls: (await testTls()).serving,
    etcdServers: [etcd.etcd.clientUrl],
    address: `127.0.0.1:0,unix:${env.sock}`,
    httpAddress: '127.0.0.1:0',
    ...(opts.bootstrap ? { bootstrap: { ca: (await testTls()).ca } } : {}),
    ...(opts.rest ? { restAddress: '127.0.0.1:0' } : {}),
    log: () => undefined,
  });
  cleanups.push(() => env.api.stop());
  env.clientset = new Clientset(env.api.grpcAddress, (await testTls()).admin);
  cleanups.push(() => env.clientset.close());
  await writeTestKubeconfig(env.kubeconfig, `unix:${env.sock}`);

  env.registry = await startBusyboxRegistry(cleanups, env.dir);
  env.image = env.registry.image;

  run('ip', ['netns', 'add', env.netns]);
  cleanups.push(() => void spawnSync('ip', ['netns', 'delete', env.netns]));
  run('ip', ['-n', env.netns, 'link', 'set', 'lo', 'up']);
  for (const r of [{ port: env.registry.port, socket: env.registry.socket }, ...(opts.forward ?? [])]) {
    const fwd = await startForwarderInNamespace(env.netns, r.port, r.socket);
    cleanups.push(() => killProcess(fwd));
  }
  await opts.beforeKubelet?.();
  if (!opts.noKubelet) await startNodeKubelet(env, opts.kubelet);
}

/** Starts the environment's kubelet (once; see startKubeletInNamespace for restarts). */
export function startNodeKubelet(env: NodeEnv, opts: KubeletProcessOptions = {}): Promise<void> {
  return startKubeletInNamespace(env, env.netns, env.sock, env.kubeconfig, opts);
}

/** Waits until the pod satisfies pred, failing early when the kubelet died; the last status is in the error. */
export async function waitPod(env: NodeEnv, name: string, pred: (p: Pod) => boolean, what: string, timeoutMs = 90_000, namespace = 'default'): Promise<Pod> {
  let last: Pod | undefined;
  await eventually(
    async () => {
      const k = env.kubelet.proc;
      if (k && (k.exitCode !== null || k.signalCode !== null)) throw new Error(`the kubelet exited (${k.signalCode ?? `code ${k.exitCode}`})`);
      last = await env.clientset.pods.get(name, namespace);
      return pred(last);
    },
    timeoutMs,
    what,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last status: ${JSON.stringify(last?.status)}`);
  });
  return last as Pod;
}

/** The content of a file a pod wrote under out/, or "" while it has not. */
export function outFile(env: NodeEnv, name: string): string {
  try {
    return fs.readFileSync(path.join(env.out, name), 'utf8');
  } catch {
    return '';
  }
}
