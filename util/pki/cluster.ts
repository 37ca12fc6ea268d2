// The cluster's PKI on disk, as k3s's server/tls: created on first start,
// reused afterwards, leaf certificates renewed when they near their end or no
// longer cover the server's names. Keys are 0600 and the directory 0700.
//
//   <dataDir>/tls/ca.crt, ca.key                 the cluster CA
//   <dataDir>/tls/server.crt, server.key         the API server's serving certificate
//   <dataDir>/tls/admin.crt, admin.key           CN=admin, O=system:masters
//   <dataDir>/tls/etcd-server.crt, .key          the embedded etcd's serving certificate
//   <dataDir>/tls/etcd-client.crt, .key          the API server's client certificate for etcd
//   <dataDir>/tls/etcd-peer-ca.crt, .key         the CA of etcd's peer port (k3s's etcd/peer-ca)
//   <dataDir>/tls/etcd-peer.crt, .key            this server's etcd peer certificate (its addresses as SANs)

import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { needsRenewal, coversSans } from './renewal';
import { createCA, issue, parseCert } from './x509';
import type { CertKey, CertUsage, Sans, Subject } from './x509';

export interface ClusterPki {
  /** <dataDir>/tls */
  readonly dir: string;
  readonly ca: CertKey;
  readonly server: CertKey;
  readonly admin: CertKey;
  readonly etcdServer: CertKey;
  readonly etcdClient: CertKey;
  /** The CA every etcd member's peer certificate chains to: shared by the servers of a cluster. */
  readonly etcdPeerCa: CertKey;
  readonly etcdPeer: CertKey;
  /** Absolute paths of every file, for programs that take paths (etcd). */
  readonly paths: Readonly<Record<PkiFile, { cert: string; key: string }>>;
}

export type PkiFile = 'ca' | 'server' | 'admin' | 'etcd-server' | 'etcd-client' | 'etcd-peer-ca' | 'etcd-peer';

export interface ClusterPkiOptions {
  /** The API server's names beyond the defaults (127.0.0.1, ::1, localhost). */
  sans: Sans;
  now?: Date;
  /** Log line per created or renewed file ("created", "renewed: ..."); silent when absent. */
  log?: (line: string) => void;
}

export const CA_COMMON_NAME = 'tsk-ca';
export const ETCD_PEER_CA_COMMON_NAME = 'tsk-etcd-peer-ca';
export const SERVER_COMMON_NAME = 'kube-apiserver';
export const ETCD_CLIENT_COMMON_NAME = 'kube-apiserver-etcd-client';
/** Kubernetes' names (apiserver/auth/user.ts holds them for the server; util cannot import a component). */
export const ADMIN_USER = 'admin';
export const ADMIN_GROUP = 'system:masters';
const LOOPBACK_SANS: Required<Sans> = { dns: ['localhost'], ips: ['127.0.0.1', '::1'] };

interface LeafSpec {
  file: PkiFile;
  subject: Subject;
  usage: CertUsage;
  sans?: Sans;
}

/** Loads <dataDir>/tls, creating what is missing and renewing what is due. Safe to call at every start. */
export async function loadOrCreateClusterPki(dataDir: string, opts: ClusterPkiOptions): Promise<ClusterPki> {
  const dir = path.join(dataDir, 'tls');
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  await fs.chmod(dir, 0o700);
  const now = opts.now ?? new Date();
  const log = opts.log ?? (() => undefined);
  const paths = pathsIn(dir);
  const ca = await loadOrCreateCa(paths.ca, log);
  const etcdPeerCa = await loadOrCreateCa(paths['etcd-peer-ca'], log, ETCD_PEER_CA_COMMON_NAME);
  const serverSans = mergeSans(LOOPBACK_SANS, opts.sans);
  const leaves: LeafSpec[] = [
    { file: 'server', subject: { commonName: SERVER_COMMON_NAME }, usage: 'server', sans: serverSans },
    { file: 'admin', subject: { commonName: ADMIN_USER, organizations: [ADMIN_GROUP] }, usage: 'client' },
    // The server's names: a clustered etcd is reached on the node's address by the other servers.
    { file: 'etcd-server', subject: { commonName: 'etcd' }, usage: 'client+server', sans: serverSans },
    { file: 'etcd-client', subject: { commonName: ETCD_CLIENT_COMMON_NAME }, usage: 'client' },
  ];
  const issued = new Map<PkiFile, CertKey>();
  for (const spec of leaves) issued.set(spec.file, await loadOrIssueLeaf(ca, spec, paths[spec.file], now, log));
  const peerSpec: LeafSpec = { file: 'etcd-peer', subject: { commonName: 'etcd-peer' }, usage: 'client+server', sans: serverSans };
  issued.set('etcd-peer', await loadOrIssueLeaf(etcdPeerCa, peerSpec, paths['etcd-peer'], now, log));
  const get = (file: PkiFile): CertKey => issued.get(file) as CertKey;
  return {
    dir,
    ca,
    server: get('server'),
    admin: get('admin'),
    etcdServer: get('etcd-server'),
    etcdClient: get('etcd-client'),
    etcdPeerCa,
    etcdPeer: get('etcd-peer'),
    paths,
  };
}

export function pathsIn(dir: string): Record<PkiFile, { cert: string; key: string }> {
  const pair = (name: string) => ({ cert: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`) });
  return {
    ca: pair('ca'),
    server: pair('server'),
    admin: pair('admin'),
    'etcd-server': pair('etcd-server'),
    'etcd-client': pair('etcd-client'),
    'etcd-peer-ca': pair('etcd-peer-ca'),
    'etcd-peer': pair('etcd-peer'),
  };
}

async function loadOrCreateCa(files: { cert: string; key: string }, log: (line: string) => void, commonName = CA_COMMON_NAME): Promise<CertKey> {
  const existing = await readPair(files);
  if (existing !== undefined) {
    parseCert(existing.certPem);
    return existing;
  }
  const what = commonName === CA_COMMON_NAME ? 'the cluster CA' : 'the etcd peer CA';
  if ((await exists(files.cert)) || (await exists(files.key))) {
    throw new Error(`${files.cert}: ${what} is incomplete (its certificate or its key is missing); restore it or remove both to create a new CA`);
  }
  const ca = await createCA(commonName);
  await writePair(files, ca);
  log(`created ${what} ${files.cert}`);
  return ca;
}

async function loadOrIssueLeaf(ca: CertKey, spec: LeafSpec, files: { cert: string; key: string }, now: Date, log: (line: string) => void): Promise<CertKey> {
  const existing = await readPair(files);
  const why = existing === undefined ? 'created' : reissueReason(ca, existing, spec, now);
  if (why === undefined && existing !== undefined) return existing;
  const fresh = await issue(ca, spec.subject, { usage: spec.usage, sans: spec.sans });
  await writePair(files, fresh);
  log(`${why} ${files.cert}`);
  return fresh;
}

/** Why an existing leaf must be issued again, or undefined when it is still good. */
function reissueReason(ca: CertKey, leaf: CertKey, spec: LeafSpec, now: Date): string | undefined {
  let cert;
  try {
    cert = parseCert(leaf.certPem);
  } catch {
    return 'replaced malformed';
  }
  if (cert.issuer !== parseCert(ca.certPem).subject) return 'reissued (other CA)';
  if (needsRenewal(leaf.certPem, now)) return 'renewed (near expiry)';
  if (spec.sans !== undefined && !coversSans(leaf.certPem, spec.sans)) return 'reissued (names changed)';
  return undefined;
}

function mergeSans(a: Sans, b: Sans): Sans {
  return { dns: [...new Set([...(a.dns ?? []), ...(b.dns ?? [])])], ips: [...new Set([...(a.ips ?? []), ...(b.ips ?? [])])] };
}

async function readPair(files: { cert: string; key: string }): Promise<CertKey | undefined> {
  try {
    return { certPem: await fs.readFile(files.cert, 'utf8'), keyPem: await fs.readFile(files.key, 'utf8') };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Writes key then certificate, each through a temporary file and a rename, so a crash never leaves half a file. */
async function writePair(files: { cert: string; key: string }, pair: CertKey): Promise<void> {
  await writePrivate(files.key, pair.keyPem);
  await writePrivate(files.cert, pair.certPem);
}

export async function writePrivate(file: string, data: string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await fs.writeFile(tmp, data, { mode: 0o600 });
  await fs.chmod(tmp, 0o600);
  await fs.rename(tmp, file);
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}
