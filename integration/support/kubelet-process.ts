// A real `tsk kubelet` in a test's network namespace (loopback network, the
// API server over its unix socket), kept until the test's cleanups run, its
// output kept for the failure log; resolves once its Node is Ready.

import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import type { Clientset } from '../../client';
import { ImageStore } from '../../kubelet/runtime/image/store';
import { NativeRuntime } from '../../kubelet/runtime/native-runtime';
import { eventually } from './client-harness';
import type { CleanupStack } from './cleanups';
import { killProcess } from './netns';
import { TSK_BIN } from './run';
import { cleanupRuntime } from './runtime-env';

export interface KubeletProcessEnv {
  clientset: Clientset;
  dataDir: string;
  nodeName: string;
  kubelet: { proc: ChildProcess | undefined };
  /** The kubelet's last 400 output lines. */
  log: string[];
  cleanups: CleanupStack;
}

export interface KubeletProcessOptions {
  /** The pod network's flags; default `--network loopback` (no pod IPs). */
  network?: string[];
  /** More environment for the kubelet (test hooks such as TSK_TEST_CRASH_AT). */
  env?: Record<string, string>;
  /** More API servers after `sock` (--server repeated: the kubelet fails over to them). */
  moreServers?: string[];
}

export async function startKubeletInNamespace(
  env: KubeletProcessEnv,
  ns: string,
  sock: string,
  kubeconfig: string,
  opts: KubeletProcessOptions = {},
): Promise<void> {
  env.cleanups.push(async () => {
    const k = env.kubelet.proc;
    env.kubelet.proc = undefined;
    if (k) await killProcess(k);
    if (fs.existsSync(env.dataDir)) await cleanupRuntime(new NativeRuntime({ dataDir: env.dataDir, images: new ImageStore(env.dataDir) }), env.dataDir);
  });
  // nsenter --net only: `ip netns exec` would remount /sys and hide the cgroup tree from the runtime.
  const args = [
    `--net=/var/run/netns/${ns}`,
    process.execPath,
    TSK_BIN,
    'kubelet',
    ...[
      '--server',
      `unix:${sock}`,
      ...(opts.moreServers ?? []).flatMap((s) => ['--server', s]),
      '--kubeconfig',
      kubeconfig,
      '--hostname-override',
      env.nodeName,
      '--data-dir',
      env.dataDir,
    ],
    ...(opts.network ?? ['--network', 'loopback']),
    ...['--node-ip', '127.0.0.1', '--node-status-update-frequency', '1s', '--node-lease-duration-seconds', '4', '--sync-frequency', '2s'],
  ];
  const child = spawn('nsenter', args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
  const keep = (d: Buffer): void => {
    env.log.push(
      ...d
        .toString()
        .split('\n')
        .filter((l) => l !== ''),
    );
    if (env.log.length > 400) env.log.splice(0, env.log.length - 400);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  env.kubelet.proc = child;
  await eventually(
    async () => {
      const n = await env.clientset.nodes.get(env.nodeName).catch(() => undefined);
      return n?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    },
    60_000,
    'the Node to be Ready',
  ).catch((err: Error) => {
    throw new Error(`${err.message}; kubelet log:\n${env.log.slice(-40).join('\n')}`);
  });
}
