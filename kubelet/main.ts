// `tsk kubelet`: parse flags, open the image store and the runtime, start
// the kubelet, and run until SIGINT/SIGTERM. Stopping leaves the pods'
// containers running (the next start adopts them), as the real kubelet does.

import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import {
  credentialsDir,
  keepServingRenewed,
  loadOrIssueServing,
  openFailoverClient,
  selfSignedServing,
  servingIps,
  type ServingOptions,
  type ServingTls,
  nodeServing,
  resolveClusterDNS,
  resolveComponentClientFromFlags,
  type ComponentTarget,
  type NodeServing,
} from '../client';
import { FLAG_HELP, kubeletPortAddress, parseFlags, type KubeletFlags } from './flags';
import { nativeCadvisorPaths } from './cadvisor';
import { errorMessage } from '../util/errors';
import { needsHttps } from '../util/health-server';
import { runCommand } from '../util/cli/command';
import { startKubelet, type KubeletOptions } from './kubelet';
import { BridgeNetwork, LauncherRunner } from './network';
import { CidrPodNetwork, loopbackPodNetwork, type PodNetwork } from './pod-network';
import { ImageStore } from './runtime/image/store';
import { CgroupManager, detectCgroupLayout } from './runtime/cgroups/cgroups';
import { defaultNativeDir, NativeRuntime } from './runtime/native-runtime';
import { Launcher } from './runtime/launcher';
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
      : new CidrPodNetwork(
          (podCidr) =>
            new BridgeNetwork({
              podCidr,
              stateDir: path.join(dataDir, 'network'),
              // The network's ip commands are forked by the runtime's small resident helper, not by the kubelet's large process.
              runner: new LauncherRunner(new Launcher(defaultNativeDir())),
              ...(mtu ? { mtu } : {}),
            }),
        );
  const cgroups = new CgroupManager(detectCgroupLayout(), flags.cgroupRoot);
  return { dataDir, images, network, runtime: new NativeRuntime({ dataDir, images, network: network.hook, cgroups }) };
}

/**
 * The node's serving certificate (DATA-DIR/agent/serving.crt), asked for
 * with the kubelet's own client credentials, for the HTTPS ports: the
 * kubelet's port (--address:--port) and --http-address when it is beyond
 * loopback (plain HTTP on loopback). One certificate names every address
 * either binds. No certificate when neither needs one; throws naming the
 * flag when one is needed and none can be had.
 */
export async function kubeletServing(
  flags: Pick<KubeletFlags, 'httpAddress' | 'nodeName' | 'nodeIP' | 'dataDir' | 'address' | 'port'>,
  target: ComponentTarget,
  log: (line: string) => void,
): Promise<NodeServing> {
  const port = kubeletPortAddress(flags);
  const httpsHttp = needsHttps(flags.httpAddress, '--http-address');
  if (port === undefined) {
    return nodeServing('--http-address', flags.httpAddress, {
      server: target.server,
      credentials: target.credentials,
      nodeName: flags.nodeName,
      nodeIPs: [flags.nodeIP],
      dir: credentialsDir(flags.dataDir, 'node'),
      log,
    });
  }
  const opts: ServingOptions = {
    server: target.server,
    credentials: target.credentials,
    nodeName: flags.nodeName,
    ips: [...new Set([...servingIps(port, [flags.nodeIP]), ...(httpsHttp ? servingIps(flags.httpAddress, []) : [])])],
    dir: credentialsDir(flags.dataDir, 'node'),
    log,
  };
  let tls: ServingTls;
  try {
    tls = await loadOrIssueServing(opts);
  } catch (err) {
    // --http-address beyond loopback has always needed the cluster's certificate.
    if (httpsHttp) {
      throw new Error(
        `--http-address ${flags.httpAddress} is beyond loopback, so it is served over HTTPS only, and no serving certificate can be had: ${errorMessage(err)}`,
        { cause: err },
      );
    }
    const caPem = await clusterCaPem(target);
    if (caPem === undefined) {
      // A plaintext API server (the benchmarks' mode): no CA to check callers with, so no port to serve.
      log(`not serving the kubelet's port ${port}: no serving certificate (${errorMessage(err)}) and no cluster CA to check client certificates with`);
      return { tls: undefined, keepRenewed: () => ({ stop: () => undefined }) };
    }
    // As the kubelet without --tls-cert-file: a certificate of its own; the renewal below keeps asking for the cluster's.
    log(`no serving certificate from the API server (${errorMessage(err)}); serving ${port} with a self-signed one`);
    tls = await selfSignedServing(flags.nodeName, opts.ips, caPem);
  }
  return { tls, keepRenewed: (apply) => keepServingRenewed(opts, tls, apply) };
}

/** The cluster CA the kubelet's client credentials hold (whose client certificates the kubelet's port accepts); undefined: none. */
async function clusterCaPem(target: ComponentTarget): Promise<string | undefined> {
  const c = target.credentials;
  const caPem = c.files ? await readFile(c.files.ca, 'utf8').catch(() => undefined) : c.caPem;
  return caPem === '' ? undefined : caPem;
}

/** What startKubelet serves on the kubelet's port; undefined when it is not served. */
export function kubeletPort(flags: Pick<KubeletFlags, 'address' | 'nodeIP' | 'port'>, serving: NodeServing, runtime: NativeRuntime): KubeletOptions['port'] {
  const address = kubeletPortAddress(flags);
  if (address === undefined || serving.tls === undefined) return undefined;
  return { address, tls: serving.tls, cadvisor: nativeCadvisorPaths(runtime) };
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
        ...(serving.tls && needsHttps(flags.httpAddress, '--http-address') ? { httpTls: serving.tls } : {}),
        port: kubeletPort(flags, serving, runtime),
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
    log(`serving /healthz and /metrics on ${needsHttps(flags.httpAddress) ? 'https' : 'http'}://${kubelet.httpAddress ?? flags.httpAddress}`);
    if (kubelet.portAddress) log(`serving the kubelet's port on https://${kubelet.portAddress} (/metrics, /metrics/cadvisor, /metrics/resource, /healthz)`);
    else log("not serving the kubelet's port: no --address or --node-ip to bind, or --port 0");
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
