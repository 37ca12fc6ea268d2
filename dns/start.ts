// The cluster DNS as `tsk agent` runs it on every node (NodeLocal
// DNSCache's placement): the cluster DNS address on a dummy interface in the
// node's network namespace, UDP and TCP port 53 bound on it, the records
// from the process's shared informers, other names forwarded to the node's
// resolvers.

import type { Registry } from 'prom-client';
import type { SharedInformerFactory } from '../client';
import { ClusterRecords } from './cluster-records';
import { ensureDnsInterface, execRun, removeDnsInterface, type Run } from './interface';
import { newDnsMetrics } from './metrics';
import { listenDns, type ListeningDnsServer } from './server';
import { newUpstream, readUpstreamServers } from './upstream';

export interface ClusterDnsOptions {
  readonly informers: SharedInformerFactory;
  /** The cluster DNS address. */
  readonly ip: string;
  /** The cluster domain (cluster.local). */
  readonly domain: string;
  /** The node's resolv.conf: its nameservers are the upstreams (loopback ones left out). */
  readonly resolvConf: string;
  /** Default 53. */
  readonly port?: number;
  /** Put the address on the tsk-dns dummy interface first (default true; false when it is there already). */
  readonly ensureInterface?: boolean;
  readonly registry: Registry;
  readonly run?: Run;
  readonly log: (line: string) => void;
}

export interface RunningClusterDns {
  readonly address: string;
  readonly port: number;
  readonly upstreams: readonly string[];
  /** Stops serving; with removeInterface, also takes the address off the node. Idempotent. */
  stop(removeInterface?: boolean): Promise<void>;
}

export async function startClusterDns(opts: ClusterDnsOptions): Promise<RunningClusterDns> {
  const run = opts.run ?? execRun;
  const metrics = newDnsMetrics(opts.registry);
  let upstreams: string[] = [];
  try {
    upstreams = readUpstreamServers(opts.resolvConf);
  } catch (err) {
    opts.log(`cannot read ${opts.resolvConf} (${String(err)}): names outside the cluster get SERVFAIL`);
  }
  if (upstreams.length === 0) opts.log(`no upstream nameservers in ${opts.resolvConf} (loopback ones are skipped): names outside the cluster get SERVFAIL`);
  const records = new ClusterRecords({ domain: opts.domain, dnsIP: opts.ip }, opts.informers.informerFor('Service'), opts.informers.informerFor('Endpoints'));
  const ensure = opts.ensureInterface ?? true;
  if (ensure) await ensureDnsInterface(opts.ip, run);
  let server: ListeningDnsServer;
  try {
    server = await listenDns({
      address: opts.ip,
      port: opts.port ?? 53,
      records: () => records.current(),
      upstream: newUpstream(upstreams, metrics),
      metrics,
      log: opts.log,
    });
  } catch (err) {
    if (ensure) await removeDnsInterface(run).catch(() => undefined);
    throw new Error(`cluster DNS: listen on ${opts.ip}:${opts.port ?? 53}: ${String(err)}`, { cause: err });
  }
  let stopping: Promise<void> | undefined;
  return {
    address: server.address,
    port: server.port,
    upstreams,
    stop(removeInterface = true): Promise<void> {
      stopping ??= (async () => {
        await server.close();
        if (ensure && removeInterface) await removeDnsInterface(run);
      })();
      return stopping;
    },
  };
}
