// The high-availability flags of tsk server / apiserver (k3s's names):
// --cluster-init, --server, --token, --advertise-address and tsk's --leave.
// Pure: the values in, the checked flags or a UsageError out.

import { isIP } from 'node:net';
import { UsageError } from '../../util/flags';

export interface HaFlagValues {
  clusterInit: boolean;
  server: string | undefined;
  token: string | undefined;
  leave: boolean;
  advertiseAddress: string | undefined;
  /** --etcd-servers given: an external etcd, which tsk does not cluster. */
  externalEtcd: boolean;
  clusterReset: boolean;
}

export interface HaOptions {
  clusterInit: boolean;
  server: string | undefined;
  token: string | undefined;
  leave: boolean;
  /** Undefined: this host's first non-loopback IPv4 address, found at start. */
  advertiseAddress: string | undefined;
}

/** Checks the HA flags against each other; each error names the flag. */
export function parseHaFlags(v: HaFlagValues): HaOptions {
  if (v.server !== undefined && !/^https:\/\/[^/\s]+$/.test(v.server))
    throw new UsageError(`--server: "${v.server}" is not a URL such as https://10.0.0.1:6443`);
  if (v.server !== undefined && (v.token === undefined || v.token.trim() === ''))
    throw new UsageError('--server needs --token (the server token, <data-dir>/token on that server)');
  if (v.token !== undefined && v.server === undefined) throw new UsageError('--token needs --server: the token is for joining the cluster of that server');
  if (v.clusterInit && v.server !== undefined) throw new UsageError('--cluster-init starts a new cluster; --server joins one: give one of them');
  const externalWith = v.clusterInit ? '--cluster-init' : v.server !== undefined ? '--server' : v.leave ? '--leave' : undefined;
  if (v.externalEtcd && externalWith !== undefined)
    throw new UsageError(`${externalWith} clusters the embedded etcd; with --etcd-servers the etcd cluster is yours to manage`);
  if (v.leave && (v.clusterInit || v.server !== undefined || v.clusterReset))
    throw new UsageError('--leave takes no --cluster-init, --server or --cluster-reset');
  if (v.advertiseAddress !== undefined && isIP(v.advertiseAddress) === 0)
    throw new UsageError(`--advertise-address: "${v.advertiseAddress}" is not an IP address`);
  return { clusterInit: v.clusterInit, server: v.server, token: v.token, leave: v.leave, advertiseAddress: v.advertiseAddress };
}

/** The address other servers reach this one on: --advertise-address, else the first non-loopback IPv4 address. */
export function defaultAdvertiseAddress(addresses: readonly string[]): string | undefined {
  return addresses.find((a) => isIP(a) === 4 && !a.startsWith('127.'));
}
