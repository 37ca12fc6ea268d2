// The API server's connection to etcd: one etcd3 client whose RPC layer
// (KVClient, WatchClient, MaintenanceClient) the storage code calls directly.
// etcd3's builder API (get/put/watch builders, Watcher objects) is not used:
// it adds per-call objects and resumes watches from the response header's
// revision, which can skip events still being replayed from history.
//
// Fault handling. etcd3 sends every call through a global policy (default:
// retry 3 times on "recoverable" errors) and then a per-host policy (default:
// a circuit breaker open for 5 s after 3 consecutive failures). Neither fits
// the API server:
// - A retried Txn is not idempotent: a create whose first attempt committed
//   but whose answer was lost would fail its compare and be reported as
//   AlreadyExists. Callers of the API server retry on Unavailable instead
//   (client-go does the same), and the watch streams reconnect themselves
//   (storage/etcd-source.ts). So the global policy is a no-op.
// - With one member, an open breaker only delays recovery after an etcd
//   restart by up to 5 s while every request fails fast. With several
//   members, a breaker per host is what moves calls to the healthy ones
//   (etcd3 skips a host whose breaker is open), so it is kept there, with a
//   short half-open delay.
// No per-call deadline is set: a grpc-js deadline is a timer per call, and a
// dead connection is detected by HTTP/2 keepalive while etcd bounds its own
// proposals (its request timeout), so no call waits forever.

import { ConsecutiveBreaker, circuitBreaker, handleWhen, noop, type IPolicy } from 'cockatiel';
import { Etcd3, isRecoverableError } from 'etcd3';

/** gRPC channel options for the connection to etcd. */
export const ETCD_CHANNEL_OPTIONS = {
  'grpc.max_receive_message_length': -1,
  'grpc.max_send_message_length': -1,
  'grpc.enable_channelz': 0,
  // A large HTTP/2 window: a busy event loop must not make etcd's watch
  // sender block, or etcd demotes the watcher to "slow" and replays its
  // events from disk (costly for etcd, late for clients).
  'grpc-node.flow_control_window': 16 * 1024 * 1024,
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 10_000,
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 2000,
} as const;

/** The per-host policy: a no-op for one member, a circuit breaker when there are others to fail over to. */
export function hostPolicy(memberCount: number): () => IPolicy {
  if (memberCount <= 1) return () => noop;
  return () => circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: 1000, breaker: new ConsecutiveBreaker(3) });
}

/** An etcd3 client for `urls` (http://HOST:PORT), configured as described above. */
export function connectEtcd(urls: readonly string[]): Etcd3 {
  if (urls.length === 0) throw new Error('no etcd servers given');
  return new Etcd3({
    hosts: [...urls],
    grpcOptions: { ...ETCD_CHANNEL_OPTIONS },
    faultHandling: { global: noop, host: hostPolicy(urls.length) },
  });
}
