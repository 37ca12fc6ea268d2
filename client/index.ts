// The shared client library: typed gRPC clients, informers and the work
// queue. Components import from here.

export { Clientset, UnknownKindError } from './clientset';
export { Connection, DEFAULT_UNARY_DEADLINE_MS, channelCredentials, type ClientCredentials, type ConnectionOptions } from './connection';
export { resolveClient, readClientConfig, writeClientConfig, upsertContext, defaultConfigPath, DEFAULT_SERVER, type ClientConfig, type ClientTarget, type ContextChange, type ContextEntry, type ResolveOptions } from './config';
export { GrpcResourceClient, PodClient, type DeleteOptions, type ListOptions, type ResourceClient, type WatchOptions } from './resource';
export type { Watch, WatchEvent, WatchEventType } from './watch';
export {
  Backoff,
  Informer,
  listerWatcher,
  newInformer,
  type EventHandlers,
  type InformerOptions,
  type InformerState,
  type ListerWatcher,
  type Selectors,
} from './informer';
export { NAMESPACE_INDEX, NODE_NAME_INDEX, Store, namespaceIndexFunc, nodeNameIndexFunc, objectKey, splitKey, type IndexFunc, type Indexers, type Lister } from './store';
export { WorkQueue, runWorker, ExponentialRateLimiter, BucketRateLimiter, MaxOfRateLimiter, defaultControllerRateLimiter, type RateLimiter } from './workqueue';
export { FakeClock, realClock, type Clock } from './clock';
export { ApiEventRecorder, referenceTo, type EventRecorder, type EventSource, type EventType, type EventWriter, type RecorderOptions } from './events';
export { SharedInformerFactory, type InformerFactoryOptions } from './informer-factory';
