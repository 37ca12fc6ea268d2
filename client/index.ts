// The shared client library: typed gRPC clients, informers and the work
// queue. Everything outside client/ imports it from here (check-imports
// refuses deep paths); the test fakes (fake.ts) are not part of it.

export { Clientset, UnknownKindError } from './clientset';
export {
  Connection,
  DEFAULT_UNARY_DEADLINE_MS,
  authMetadata,
  channelCredentials,
  channelOptions,
  type ClientCredentials,
  type ConnectionOptions,
} from './connection';
export {
  resolveClient,
  readClientConfig,
  writeClientConfig,
  upsertContext,
  adminConfigPath,
  defaultConfigPath,
  DEFAULT_SERVER,
  type ClientConfig,
  type ClientTarget,
  type ContextChange,
  type ContextEntry,
  type ResolveOptions,
} from './config';
export { kubeconfigServer, kubeconfigYaml, writeKubeconfig, type KubeconfigEntry } from './kubeconfig';
export { joinServerCluster, pinnedClusterCa, type ServerJoinAnswer } from './bootstrap';
export { credentialsDir, resolveComponentClient, resolveComponentClientFromFlags, type ComponentClientFlags, type ComponentTarget } from './bootstrap';
export { ServerList } from './server-list';
export { classifyFailure, serversFromEndpoints, shouldFailOver, type CallFailure } from './failover';
export { openFailoverClient, readLearnedServers, serversFile, startServerLearning, type FailoverClient, type ServerLearning } from './server-learning';
export {
  keepServingRenewed,
  loadOrIssueServing,
  nodeServing,
  selfSignedServing,
  servingIps,
  type NodeServing,
  type ServingOptions,
  type ServingTls,
} from './serving-cert';
export { GrpcResourceClient, PodClient, type BindRequestOf, type DeleteOptions, type ListOptions, type ResourceClient, type WatchOptions } from './resource';
export type { Watch, WatchEvent, WatchEventType } from './watch';
export { Backoff } from '../util/backoff';
export {
  Informer,
  listerWatcher,
  newInformer,
  type EventHandlers,
  type InformerOptions,
  type InformerState,
  type ListerWatcher,
  type Selectors,
} from './informer';
export {
  NAMESPACE_INDEX,
  NODE_NAME_INDEX,
  Store,
  namespaceIndexFunc,
  nodeNameIndexFunc,
  objectKey,
  splitKey,
  type IndexFunc,
  type Indexers,
  type Lister,
} from './store';
export { WorkQueue, runWorker, ExponentialRateLimiter, BucketRateLimiter, MaxOfRateLimiter, defaultControllerRateLimiter, type RateLimiter } from './workqueue';
export { every, FakeClock, flushPromises, realClock, type Clock, type Ticker, type TimerHandle } from './clock';
export {
  ApiEventRecorder,
  DEFAULT_EVENT_WRITES_IN_FLIGHT,
  EventRecorderMetrics,
  referenceTo,
  type DropReason,
  type EventRecorder,
  type EventSource,
  type EventType,
  type EventWriter,
  type RecorderOptions,
} from './events';
export { SharedInformerFactory, type InformerFactoryOptions, type InformerScope } from './informer-factory';
export { trimForCache } from './trim';
export {
  DEFAULT_LEADER_ELECTION_TIMINGS,
  LeaderElectionMetrics,
  LeaderElector,
  timingsError,
  type ElectorState,
  type LeaderCallbacks,
  type LeaderElectionTimings,
  type LeaderElectorOptions,
} from './leaderelection';
export { LeaseLock, leaseSpecOf, recordOfLease, type LeaderElectionRecord, type LeaseLockOptions, type ResourceLock } from './leaselock';
export { DEFAULT_LEADER_ELECT_NAMESPACE, leaderElectionFlagHelp, parseLeaderElectionFlags, type LeaderElectionFlagOptions } from './leader-election-flags';
export { FencedWriteError, fencedClientset } from './fence';
export { electLeader, leaderIdentity, type ElectOptions, type LeaderElectionConfig, type ElectedComponent, type LeaderTerm } from './leader-gate';
export { resolveClusterDNS, type ClusterDnsFlags } from './cluster-dns';
