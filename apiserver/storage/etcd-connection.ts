// The API server's connection to etcd: one etcd3 client whose RPC layer
// (KVClient, WatchClient, MaintenanceClient) the storage code calls directly.
// etcd3's builder API (get/put/watch builders, Watcher objects) is not used:
// it adds per-call objects and resumes watches from the response header's
// revision, which can skip events still being replayed from history.
//
// Fault handling. etcd3 sends every call through a global policy (default:
// retry 3 times on any "recoverable" error) and then a per-host policy
// (default: a circuit breaker open for 5 s after 3 consecutive failures).
// Neither default fits the API server:
// - A Txn is not idempotent: a create whose first attempt committed but
//   whose answer was lost (CANCELLED, DEADLINE_EXCEEDED, a dropped
//   connection: all "recoverable" to etcd3) would fail its compare when
//   retried and be reported as AlreadyExists. So a call is retried only when
//   it provably never reached etcd (no connection could be made), and only on
//   another member. Callers of the API server retry on Unavailable (as
//   client-go does) and the watch streams reconnect themselves
//   (storage/etcd-source.ts).
// - With one member there is nowhere to fail over to: both policies are
//   no-ops (an open breaker would only keep failing requests for 5 s after
//   etcd is back). With several, a breaker per member makes etcd3 skip a dead
//   one without trying it, and the retry moves a refused call to the next.
// No per-call deadline is set: a grpc-js deadline is a timer per call, and a
// dead connection is detected by HTTP/2 keepalive while etcd bounds its own
// proposals (its request timeout), so no call waits forever.

import { ConsecutiveBreaker, circuitBreaker, handleWhen, noop, retry, type IPolicy } from 'cockatiel';
import { Etcd3 } from 'etcd3';
import { rootCertificates } from 'node:tls';

/**
 * Whether an etcd call failed before it was sent: grpc-js reports a channel
 * that could not connect as UNAVAILABLE "No connection established" (the
 * call never got a stream), or the connect error itself.
 */
export function neverSent(err: Error): boolean {
  return /No connection established|ECONNREFUSED|EHOSTUNREACH|ENETUNREACH/.test(err.message);
}

/** The per-member policy: a no-op for one member, a circuit breaker when there are others to fail over to. */
export function hostPolicy(memberCount: number): () => IPolicy {
  if (memberCount <= 1) return () => noop;
  return () => circuitBreaker(handleWhen(neverSent), { halfOpenAfter: 1000, breaker: new ConsecutiveBreaker(2) });
}

/** The policy around a whole call: with several members, a call that never reached one goes to the next. */
export function globalPolicy(memberCount: number): IPolicy {
  if (memberCount <= 1) return noop;
  return retry(handleWhen(neverSent), { maxAttempts: memberCount - 1 });
}

/** gRPC channel options for the connection to etcd. */
export const ETCD_CHANNEL_OPTIONS = {
  'grpc.max_receive_message_length': -1,
  'grpc.max_send_message_length': -1,
  'grpc.enable_channelz': 0,
  // A large HTTP/2 window: a busy event loop must not make etcd's watch
  // sender block, or etcd demotes the watcher to "slow" and replays its
  // events from disk (costly for etcd, late for clients).
  'grpc-node.flow_control_window': 16 * 1024 * 1024,
  // grpc-js checks a ping's answer in a timer, which a stalled event loop
  // runs before it reads the socket holding the answer: with 10 s, an API
  // server stalled for 10-20 s at 1,000 hollow nodes took its own stall for a
  // dead etcd and dropped the connection (47 times in 15 minutes), failing
  // every etcd call in flight and restarting its watches. A dead local etcd
  // closes the socket at once; 30 s is how long a vanished remote member
  // takes to be noticed (60 s in all, against kube-apiserver's 40).
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 30_000,
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 2000,
} as const;

/** TLS to etcd (https URLs): the CA of its certificate (default the system's) and a client certificate. */
export interface EtcdClientTls {
  readonly caPem?: string;
  readonly certPem?: string;
  readonly keyPem?: string;
  /**
   * The name to verify the server's certificate against instead of the
   * URL's host; the embedded etcd's URL is an IP, which TLS must not send
   * as a server name (RFC 6066), and its certificate names localhost.
   */
  readonly serverName?: string;
}

/** An etcd3 client for `urls` (http:// or https://HOST:PORT), configured as described above. */
export function connectEtcd(urls: readonly string[], tls?: EtcdClientTls): Etcd3 {
  if (urls.length === 0) throw new Error('no etcd servers given');
  const secure = urls.some((u) => u.startsWith('https://'));
  if (tls !== undefined && !secure) throw new Error('etcd client certificates given but the --etcd-servers URLs are http://; use https://');
  const credentials = secure
    ? {
        rootCertificate: Buffer.from(tls?.caPem ?? rootCertificates.join('\n')),
        privateKey: tls?.keyPem === undefined ? undefined : Buffer.from(tls.keyPem),
        certChain: tls?.certPem === undefined ? undefined : Buffer.from(tls.certPem),
      }
    : undefined;
  return new Etcd3({
    hosts: [...urls],
    credentials,
    grpcOptions: { ...ETCD_CHANNEL_OPTIONS, ...(tls?.serverName === undefined ? {} : { 'grpc.ssl_target_name_override': tls.serverName }) },
    faultHandling: { global: globalPolicy(urls.length), host: hostPolicy(urls.length) },
  });
}
