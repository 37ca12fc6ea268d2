// `tsk kubelet`: parse flags, open the image store and the runtime, start
// the kubelet, and run until SIGINT/SIGTERM. Stopping leaves the pods'
// containers running (the next start adopts them), as the real kubelet does.

import * as path from 'node:path';
import {
  credentialsDir,
  openFailoverClient,
  nodeServing,
  resolveClusterDNS,
  resolveComponentClientFromFlags,
  type ComponentTarget,
  type NodeServing,
} from '../client';
import { FLAG_HELP, parseFlags, type KubeletFlags } from './flags';
import { runCommand } from '../util/cli/command';
import { startKubelet } from './kubelet';
import { BridgeNetwork } from './network';
import { CidrPodNetwork, loopbackPodNetwork, type PodNetwork } from './pod-network';
import { ImageStore } from './runtime/image/store';
import { CgroupManager, detectCgroupLayout } from './runtime/cgroups/cgroups';
import { NativeRuntime } from './runtime/native-runtime';
import { onShutdownSignals } from '../util/signals';

function log(line: string): void {
  console.error(`tsk kubelet: ${line}`);
}

/** What a node runs pods with: the image store, the pod network and the runtime over them. */
export interface NodeRuntime {
  /** Absolute. */
  dataDir: string;
  images: ImageStore;
  network: PodNetwork;
  runtime: NativeRuntime;
}

/**
 * The runtime, image store and pod network of --data-dir and --network (shared by `tsk kubelet` and `tsk agent`).
 * `mtu`: of the pod bridge and every pod's veth (default 1500); `tsk agent` with the vxlan backend gives the node device's minus 50.
 */
export function buildNodeRuntime(flags: Pick<KubeletFlags, 'dataDir' | 'network' | 'cgroupRoot'>, mtu?: number): NodeRuntime {
  const dataDir = path.resolve(flags.dataDir);
  const images = new ImageStore(dataDir);
  const network: PodNetwork =
    flags.network === 'loopback'
      ? loopbackPodNetwork()
      : new CidrPodNetwork((podCidr) => new BridgeNetwork({ podCidr, stateDir: path.join(dataDir, 'network'), ...(mtu ? { mtu } : {}) }));
  const cgroups = new CgroupManager(detectCgroupLayout(), flags.cgroupRoot);
  return { dataDir, images, network, runtime: new NativeRuntime({ dataDir, images, network: network.hook, cgroups }) };
}

/**
 * The kubelet's port: plain HTTP on loopback, else HTTPS with the node's
 * serving certificate (DATA-DIR/agent/serving.crt), asked for with the
 * kubelet's own client credentials. Throws naming the flag when none can be had.
 */
export function kubeletServing(
  flags: Pick<KubeletFlags, 'httpAddress' | 'nodeName' | 'nodeIP' | 'dataDir'>,
  target: ComponentTarget,
  log: (line: string) => void,
): Promise<NodeServing> {
  return nodeServing('--http-address', flags.httpAddress, {
    server: target.server,
    credentials: target.credentials,
    nodeName: flags.nodeName,
    nodeIPs: [flags.nodeIP],
    dir: credentialsDir(flags.dataDir, 'node'),
    log,
  });
}

export function main(argv: string[]): Promise<number> {
  return runCommand({ name: 'tsk kubelet', parse: (a) => parseFlags(a), help: FLAG_HELP, usageShowsHelp: true, run }, argv);
}

async function run(flags: KubeletFlags): Promise<number> {
  const target = await resolveComponentClientFromFlags(flags, 'node', log, flags.nodeName);
  const server = target.server;
  const serving = await kubeletServing(flags, target, log);
  const shutdown = onShutdownSignals();
  const stop = shutdown.received;
  const { clientset, learning } = await openFailoverClient(target, credentialsDir(flags.dataDir, 'node'), log);
  // The library's timers do not hold the process (unref'd): this does, until the kubelet is told to stop.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  try {
    const { dataDir, images, network, runtime } = buildNodeRuntime(flags);
    const clusterDns = await resolveClusterDNS(clientset, flags, log);
    log(`node ${flags.nodeName}, API server ${server}, data in ${dataDir}, ${flags.network} network`);
    const kubelet = await Promise.race([
      startKubelet({
        clientset,
        runtime,
        images,
        network,
        nodeName: flags.nodeName,
        dataDir,
        nodeIP: flags.nodeIP,
        podCIDR: flags.podCIDR,
        maxPods: flags.maxPods,
        systemReserved: flags.systemReserved,
        nodeStatusUpdateFrequencyMs: flags.nodeStatusUpdateFrequencyMs,
        nodeStatusReportFrequencyMs: flags.nodeStatusReportFrequencyMs,
        nodeLeaseDurationSeconds: flags.nodeLeaseDurationSeconds,
        resyncPeriodMs: flags.syncFrequencyMs,
        httpAddress: flags.httpAddress,
        ...(serving.tls ? { httpTls: serving.tls } : {}),
        allowedUnsafeSysctls: flags.allowedUnsafeSysctls,
        ...(clusterDns ? { clusterDNS: clusterDns.ip, clusterDomain: clusterDns.domain } : {}),
        resolvConf: flags.resolvConf,
        log,
      }),
      stop.then(() => undefined),
    ]);
    if (!kubelet) {
      log('interrupted while starting');
      return 1;
    }
    const renewal = serving.keepRenewed((tls) => kubelet.setHttpTls(tls));
    log(`serving /healthz and /metrics on ${serving.tls ? 'https' : 'http'}://${kubelet.httpAddress ?? flags.httpAddress}`);
    const sig = await stop;
    renewal.stop();
    log(`${sig}: stopping (containers keep running)`);
    await kubelet.stop();
    return 0;
  } finally {
    shutdown.dispose();
    clearInterval(keepAlive);
    learning.stop();
    clientset.close();
  }
}
