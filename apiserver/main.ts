// `tsk apiserver`: parse flags, start (or connect to) etcd, start the API
// server, write the client config, and run until SIGINT/SIGTERM or until
// the embedded etcd dies for good (it is restarted first; see etcd/embedded.ts).

import { readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import {
  adminConfigPath,
  kubeconfigServer,
  writeClientConfig,
  writeKubeconfig,
  defaultConfigPath,
  upsertContext,
  type ClientCredentials,
  type ContextEntry,
} from '../client';
import { EMBEDDED_ETCD_QUOTA_BYTES, ETCD_PEER_PORT, etcdUrl, type EtcdClusterOptions, type EtcdTlsFiles } from '../util/etcd-process';
import { EmbeddedEtcd } from './etcd/embedded';
import { issue, loadOrCreateClusterPki, type ClusterPki, type Sans } from '../util/pki';
import { hostFacts, servingSans } from './serving-names';
import type { EtcdClientTls } from './storage/etcd-connection';
import { onShutdownSignals, reportStop, untilStopped } from '../util/signals';
import { runCommand } from '../util/cli/command';
import { FLAG_HELP, parseFlags, type ApiServerFlags } from './flags';
import { startApiServer, type ApiServerOptions, type RunningApiServer } from './server';
import { defaultEncryptionConfigPath, ensureDefaultEncryptionConfig, loadEncryptionConfig } from './storage/encryption-file';
import { errorMessage } from '../util/errors';
import { clusterReset, etcdUrlFile } from './etcd/reset';
import { startSnapshotSchedule, type RunningSnapshotSchedule } from './etcd/snapshot-schedule';
import type { SnapshotInfo } from './etcd/snapshots';
import { connectEtcd } from './storage/etcd-connection';
import { defaultAdvertiseAddress } from './ha/flags';
import { planEmbeddedEtcd, type EtcdClusterPlan } from './ha/plan';
import { packBootstrapData } from './ha/bootstrap-data';
import { addMember, ensurePeerUrl } from './ha/members';
import { leaveCluster, memberToLeave } from './ha/leave';

function log(msg: string): void {
  console.log(`tsk apiserver: ${msg}`);
}

/** An API server with the etcd it started (the embedded default), as `tsk apiserver` and `tsk server` run it. */
export interface StartedApiServer {
  readonly server: RunningApiServer;
  /** Resolves with a message when the embedded etcd died and could not be restarted; the process should then exit non-zero. */
  readonly died: Promise<string>;
  /** The cluster PKI under DIR/tls (absent only for the benchmark's plaintext server on an external etcd). */
  readonly pki: ClusterPki | undefined;
  /** A client credential issued now by the cluster CA (in-process components: system:kube-scheduler, ...); plaintext on a plaintext server. */
  credentialsFor(user: string, groups?: string[]): Promise<ClientCredentials>;
  /** Stops the API server, then the embedded etcd. */
  stop(): Promise<void>;
}

/**
 * Starts the embedded etcd unless --etcd-servers was given, then the API
 * server, and writes the client config when asked. Throws a message for the
 * user (etcd missing, address in use, ...) having stopped what it started.
 */
export async function startWithEtcd(
  flags: ApiServerFlags,
  log: (msg: string) => void,
  extra: Pick<ApiServerOptions, 'extraMetrics'> = {},
): Promise<StartedApiServer> {
  let etcd: EmbeddedEtcd | undefined;
  // Counted once the server (and its metrics) exists; etcd starts first.
  let countEtcdRestart = (): void => undefined;
  const advertiseAddress = flags.ha.advertiseAddress ?? defaultAdvertiseAddress(hostFacts().addresses);
  // Before the PKI: a joining server takes the cluster's CAs from the server it joins.
  const plan = flags.etcdServers.length === 0 ? await planEmbeddedEtcd({ dataDir: flags.dataDir, ...flags.ha, advertiseAddress }, log) : undefined;
  const sans = servingSans(plan ? [...flags.tlsSans, plan.address] : flags.tlsSans, flags.address, hostFacts());
  // Everything but the benchmark's plaintext server on an external etcd needs the PKI.
  const needsPki = !flags.insecurePlaintext || flags.etcdServers.length === 0;
  const pki = needsPki ? await loadOrCreateClusterPki(flags.dataDir, { sans, log: (l) => log(`tls: ${l}`) }) : undefined;
  let etcdServers = flags.etcdServers;
  let etcdTls: EtcdClientTls | undefined;
  if (etcdServers.length === 0) {
    log(`starting embedded etcd with data in ${join(flags.dataDir, 'etcd')} (client-certificate TLS)`);
    if (pki === undefined) throw new Error('invariant: the embedded etcd needs the cluster PKI');
    etcdTls = { caPem: pki.ca.certPem, certPem: pki.etcdClient.certPem, keyPem: pki.etcdClient.keyPem, serverName: 'localhost' };
    etcd = await EmbeddedEtcd.start({
      dataDir: flags.dataDir,
      avoidPorts: listenPorts(flags),
      tls: embeddedEtcdTls(pki),
      ...(plan ? { cluster: etcdCluster(plan, pki) } : {}),
      log,
      onRestart: () => countEtcdRestart(),
    });
    etcdServers = [etcd.clientUrl];
    log(`embedded etcd ready at ${etcd.clientUrl} (pid ${etcd.pid ?? '?'})`);
    if (plan) await movePeerUrl(etcd, [etcd.clientUrl], etcdTls, plan, log);
    // For `tsk etcd-snapshot save` on this machine: the port is picked anew at each start.
    await writeFile(etcdUrlFile(flags.dataDir), `${etcd.clientUrl}\n`, { mode: 0o600 });
  } else {
    log(`using etcd at ${etcdServers.join(',')}`);
    etcdTls = await externalEtcdTls(flags);
  }
  let server: RunningApiServer;
  let schedule: RunningSnapshotSchedule | undefined;
  let lastSnapshot: SnapshotInfo | undefined;
  try {
    const encryption = flags.encryptionProviderConfig
      ? await loadEncryptionConfig(flags.encryptionProviderConfig)
      : await ensureDefaultEncryptionConfig(defaultEncryptionConfigPath(flags.dataDir), log);
    server = await startApiServer({
      encryption,
      // Joining needs the CA (and TLS): a plaintext benchmark server has neither.
      bootstrap:
        pki === undefined
          ? undefined
          : {
              ca: pki.ca,
              tokenFile: join(flags.dataDir, 'token'),
              // Only a clustered etcd takes members; the bootstrap data is read before the member is added.
              ...(plan
                ? {
                    serverJoin: async (client, name, peerUrl) => ({
                      files: await packBootstrapData(flags.dataDir),
                      initialCluster: await addMember(client, name, peerUrl),
                    }),
                  }
                : {}),
            },
      etcdServers,
      etcdTls,
      ...(plan ? { endpointReconciler: { ip: plan.address, port: apiPort(flags, plan.address) } } : {}),
      tls: flags.insecurePlaintext || pki === undefined ? undefined : servingTls(flags, pki, sans, log),
      insecurePlaintext: flags.insecurePlaintext,
      tokenAuthFile: flags.tokenAuthFile,
      address: flags.address,
      httpAddress: flags.httpAddress,
      // The REST API needs the serving certificate: the plaintext benchmark server has none.
      restAddress: flags.insecurePlaintext ? '' : flags.restAddress,
      serviceCidr: flags.serviceCidr,
      clusterDns: flags.clusterDns,
      clusterDomain: flags.clusterDomain,
      eventTtlSeconds: flags.eventTtlSeconds,
      etcdCompactionIntervalMs: flags.etcdCompactionIntervalMs,
      // The embedded etcd's quota is ours; an external etcd's is not known here.
      etcdQuotaBytes: etcd ? EMBEDDED_ETCD_QUOTA_BYTES : 0,
      podSecurityDefaultEnforce: flags.podSecurityDefaultEnforce,
      flowControl: flags.flowControl,
      nodePortRange: flags.nodePortRange,
      readyDetail: () => [etcd?.status(), snapshotStatus(flags, lastSnapshot, schedule)].filter((l) => l !== undefined).join('\n') || undefined,
      log,
      ...extra,
    });
  } catch (err) {
    await etcd?.stop();
    throw err;
  }
  countEtcdRestart = () => server.metrics.embeddedEtcdRestarts.inc();
  const snapshotClient = etcd && flags.etcdSnapshots.enabled ? connectEtcd([etcd.clientUrl], etcdTls) : undefined;
  if (snapshotClient) {
    schedule = startSnapshotSchedule({
      ...flags.etcdSnapshots,
      node: hostname(),
      etcd: snapshotClient,
      log,
      onSnapshot: (s) => {
        lastSnapshot = s;
        server.metrics.lastSnapshot.set(s.createdAt.getTime() / 1000);
      },
    });
    log(`etcd snapshots on "${flags.etcdSnapshots.cron}" into ${flags.etcdSnapshots.dir}, keeping ${flags.etcdSnapshots.retention}`);
  }
  const stop = async (): Promise<void> => {
    schedule?.stop();
    snapshotClient?.close();
    await server.stop();
    await etcd?.stop();
    if (etcd) await rm(etcdUrlFile(flags.dataDir), { force: true });
  };
  if (server.serverToken) {
    const t = server.serverToken;
    // Printed once, when made: later starts keep the secret out of their logs.
    if (t.created) {
      log(`created the node join token (stored in ${t.file}); nodes join with: tsk agent --server https://HOST:PORT --token TOKEN`);
      console.log(`Node join token: ${t.text}`);
    } else {
      log(`the node join token is in ${t.file}`);
    }
  }
  try {
    if (flags.insecurePlaintext || pki === undefined) log('plaintext: no client config written');
    else {
      await writeContexts(flags, adminContext(flags, pki, server.grpcAddress), log);
      if (server.restAddress !== undefined) await writeAdminKubeconfig(flags, pki, server.restAddress, log);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    server,
    died: etcd?.died ?? new Promise<string>(() => undefined),
    pki,
    credentialsFor: async (user, groups) => {
      if (flags.insecurePlaintext || pki === undefined) return { insecurePlaintext: true };
      const cred = await issue(pki.ca, { commonName: user, organizations: groups }, { usage: 'client' });
      return { caPem: pki.ca.certPem, certPem: cred.certPem, keyPem: cred.keyPem };
    },
    stop,
  };
}

/** The serving certificate, renewed from DIR/tls while the server runs. */
function servingTls(flags: ApiServerFlags, pki: ClusterPki, sans: Sans, log: (msg: string) => void): NonNullable<ApiServerOptions['tls']> {
  return {
    caPem: pki.ca.certPem,
    server: pki.server,
    renew: async () => (await loadOrCreateClusterPki(flags.dataDir, { sans, log: (l) => log(`tls: ${l}`) })).server,
  };
}

/** A clustered member's peer URL as --advertise-address says (a lone etcd turned into a cluster starts on 127.0.0.1). */
async function movePeerUrl(etcd: EmbeddedEtcd, urls: string[], tls: EtcdClientTls, plan: EtcdClusterPlan, log: (msg: string) => void): Promise<void> {
  const client = connectEtcd(urls, tls);
  try {
    const peerUrl = etcdUrl(plan.address, ETCD_PEER_PORT);
    const old = await ensurePeerUrl(client, peerUrl);
    if (old !== undefined) log(`etcd member ${plan.name}: peer URL ${old.join(',')} moved to ${peerUrl}`);
  } catch (err) {
    await etcd.stop();
    throw err;
  } finally {
    client.close();
  }
}

/** The clustered etcd's settings with this server's peer certificate. */
function etcdCluster(plan: EtcdClusterPlan, pki: ClusterPki): EtcdClusterOptions {
  const peer = pki.paths['etcd-peer'];
  return { ...plan, peerTls: { caFile: pki.paths['etcd-peer-ca'].cert, certFile: peer.cert, keyFile: peer.key } };
}

/** tsk server --leave: the member named in DIR leaves its cluster and DIR/etcd is wiped. */
export async function leave(flags: ApiServerFlags, log: (msg: string) => void): Promise<void> {
  const name = await memberToLeave(flags.dataDir);
  const address = flags.ha.advertiseAddress ?? defaultAdvertiseAddress(hostFacts().addresses);
  if (address === undefined) throw new Error('--advertise-address: this host has no non-loopback IPv4 address; give the one the server ran with');
  const sans = servingSans([...flags.tlsSans, address], flags.address, hostFacts());
  const pki = await loadOrCreateClusterPki(flags.dataDir, { sans, log: (l) => log(`tls: ${l}`) });
  await leaveCluster({
    dataDir: flags.dataDir,
    cluster: etcdCluster({ name, address, initialCluster: '', state: 'existing' }, pki),
    tls: embeddedEtcdTls(pki),
    clientTls: { caPem: pki.ca.certPem, certPem: pki.etcdClient.certPem, keyPem: pki.etcdClient.keyPem, serverName: 'localhost' },
    log,
  });
}

function embeddedEtcdTls(pki: ClusterPki): EtcdTlsFiles {
  return {
    caFile: pki.paths.ca.cert,
    certFile: pki.paths['etcd-server'].cert,
    keyFile: pki.paths['etcd-server'].key,
    caPem: pki.ca.certPem,
    clientCertPem: pki.etcdClient.certPem,
    clientKeyPem: pki.etcdClient.keyPem,
  };
}

/** kube-apiserver's --etcd-cafile/--etcd-certfile/--etcd-keyfile, read now so a missing file fails the start. */
async function externalEtcdTls(flags: ApiServerFlags): Promise<EtcdClientTls | undefined> {
  if (flags.etcdCaFile === undefined && flags.etcdCertFile === undefined) return undefined;
  const read = async (flag: string, file: string | undefined): Promise<string | undefined> => {
    if (file === undefined) return undefined;
    try {
      return await readFile(file, 'utf8');
    } catch (err) {
      throw new Error(`--${flag}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}`, { cause: err });
    }
  };
  return {
    caPem: await read('etcd-cafile', flags.etcdCaFile),
    certPem: await read('etcd-certfile', flags.etcdCertFile),
    keyPem: await read('etcd-keyfile', flags.etcdKeyFile),
  };
}

function adminContext(flags: ApiServerFlags, pki: ClusterPki, address: string): ContextEntry {
  return { name: flags.clusterName, server: address, caPem: pki.ca.certPem, certPem: pki.admin.certPem, keyPem: pki.admin.keyPem };
}

/** --write-kubeconfig: kubectl's admin kubeconfig for the REST API. */
async function writeAdminKubeconfig(flags: ApiServerFlags, pki: ClusterPki, restAddress: string, log: (msg: string) => void): Promise<void> {
  const server = kubeconfigServer(restAddress);
  await writeKubeconfig(flags.writeKubeconfig, {
    name: flags.clusterName,
    server,
    caPem: pki.ca.certPem,
    certPem: pki.admin.certPem,
    keyPem: pki.admin.keyPem,
  });
  log(`wrote ${flags.writeKubeconfig} for kubectl (server ${server}): KUBECONFIG=${flags.writeKubeconfig} kubectl get nodes`);
}

/**
 * DIR/admin.conf always (this cluster alone); the user's config when asked,
 * as a named context made current. A context of that name that belonged to
 * another cluster (another CA) is replaced, and the log says so.
 */
async function writeContexts(flags: ApiServerFlags, entry: ContextEntry, log: (msg: string) => void): Promise<void> {
  const adminConf = adminConfigPath(flags.dataDir);
  await writeClientConfig({ currentContext: entry.name, contexts: [entry] }, adminConf);
  log(`wrote ${adminConf} (context "${entry.name}", server ${entry.server})`);
  if (!flags.writeConfig) return;
  const path = defaultConfigPath();
  const change = await upsertContext(entry, path);
  if (change === 'replaced-other-cluster') {
    log(`WARNING: ${path}: context "${entry.name}" belonged to another cluster (another CA) and now points at this one; use --cluster-name to keep both`);
  }
  log(`${change === 'created' ? 'added' : 'updated'} context "${entry.name}" in ${path} (server ${entry.server}) and made it current`);
}

export function main(argv: string[]): Promise<number> {
  return runCommand({ name: 'tsk apiserver', parse: parseFlags, help: FLAG_HELP, run }, argv);
}

async function run(flags: ApiServerFlags): Promise<number> {
  if (flags.clusterReset) {
    await resetCluster(flags, log);
    return 0;
  }
  if (flags.ha.leave) {
    await leave(flags, log);
    return 0;
  }
  const running = await startWithEtcd(flags, log);
  const { died } = running;

  const shutdown = onShutdownSignals();
  const reason = await untilStopped(shutdown, died);
  reportStop(reason, 'tsk apiserver', log);
  await running.stop();
  shutdown.dispose();
  log('stopped');
  return reason.ok ? 0 : 1;
}

/** The /readyz line about snapshots. */
function snapshotStatus(flags: ApiServerFlags, last: SnapshotInfo | undefined, schedule: RunningSnapshotSchedule | undefined): string | undefined {
  if (flags.etcdServers.length > 0) return undefined;
  if (!flags.etcdSnapshots.enabled) return 'etcd snapshots: disabled (--etcd-disable-snapshots)';
  const next = schedule?.next();
  const lastText = last ? `${last.name} at ${last.createdAt.toISOString()}` : 'none yet';
  return `last etcd snapshot: ${lastText}${next ? `; next at ${next.toISOString()}` : ''}`;
}

/** Whether an etcd answers at the URL a running server published for DIR. */
async function embeddedEtcdRunning(dataDir: string, tls: EtcdClientTls): Promise<boolean> {
  const url = (await readFile(etcdUrlFile(dataDir), 'utf8').catch(() => '')).trim();
  if (!url) return false;
  const client = connectEtcd([url], tls);
  try {
    await client.maintenance.status({ deadline: Date.now() + 2000 });
    return true;
  } catch {
    return false;
  } finally {
    client.close();
  }
}

/** tsk server / apiserver --cluster-reset [--cluster-reset-restore-path FILE]. */
export async function resetCluster(flags: ApiServerFlags, log: (msg: string) => void): Promise<void> {
  if (flags.etcdServers.length > 0)
    throw new Error('--cluster-reset works on the embedded etcd; an external etcd (--etcd-servers) is restored with its own tools');
  const pki = await loadOrCreateClusterPki(flags.dataDir, { sans: servingSans(flags.tlsSans, flags.address, hostFacts()), log: (l) => log(`tls: ${l}`) });
  const clientTls: EtcdClientTls = { caPem: pki.ca.certPem, certPem: pki.etcdClient.certPem, keyPem: pki.etcdClient.keyPem, serverName: 'localhost' };
  await clusterReset({
    dataDir: flags.dataDir,
    restorePath: flags.clusterResetRestorePath,
    tls: embeddedEtcdTls(pki),
    isRunning: () => embeddedEtcdRunning(flags.dataDir, clientTls),
    log,
  });
}

/** The API port reached on `ip`: that of the --address on ip or on a wildcard host, else the first TCP one, else 6443. */
function apiPort(flags: ApiServerFlags, ip: string): number {
  const tcp = flags.address
    .split(',')
    .map((a) => a.trim())
    .filter((a) => !a.startsWith('unix:'))
    .map((a) => ({ host: a.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1'), port: Number(/:(\d+)$/.exec(a)?.[1] ?? 0) }));
  const match = tcp.find((a) => a.host === ip) ?? tcp.find((a) => a.host === '0.0.0.0' || a.host === '::') ?? tcp[0];
  return match && match.port > 0 ? match.port : 6443;
}

/** The TCP ports the server will listen on (the embedded etcd, started first, must leave them free). */
function listenPorts(flags: ApiServerFlags): number[] {
  const ports: number[] = [];
  for (const a of [...flags.address.split(','), flags.httpAddress, flags.restAddress]) {
    const m = /:(\d+)$/.exec(a.trim());
    if (m && !a.trim().startsWith('unix:') && Number(m[1]) > 0) ports.push(Number(m[1]));
  }
  return ports;
}
