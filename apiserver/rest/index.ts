// The Kubernetes REST API beside gRPC: see router.ts.
export { RestApi } from './router';
export { listenRest, splitHostPort, type ListeningRest, type RestTls } from './server';
export type { RestExtensions } from './extensions';
export type { RestDeps } from './context';
