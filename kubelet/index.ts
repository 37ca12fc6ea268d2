// The kubelet's public face: the `tsk kubelet` command and the pieces
// `tsk agent` assembles (node runtime, kubelet, route syncer). The container
// runtime inside it has a face of its own, kubelet/runtime/index.ts. Other
// folders import the kubelet only from these two.

export { main, buildNodeRuntime, kubeletPort, kubeletServing, type NodeRuntime } from './main';
export { FLAG_HELP, UsageError, kubeletPortAddress, parseFlags, type KubeletFlags } from './flags';
export { startKubelet, type KubeletOptions, type RunningKubelet } from './kubelet';
export { ipRunner, type IpRunner } from './routes/node-routes';
export { startRouteSyncer, type RouteSyncer, type RouteSyncerOptions } from './routes/route-syncer';
export { hostGwBackend, vxlanBackend, POD_NETWORK_BACKENDS, type PodNetworkBackend, type RoutesBackend, type VxlanBackendOptions } from './routes/backends';
export { underlayDevice, VXLAN_OVERHEAD } from './routes/vxlan';
export {
  startHollowNodes,
  hollowMachine,
  hollowNodeIP,
  HOLLOW_NODE_IPS,
  type HollowCompanion,
  type HollowNodes,
  type HollowNodesOptions,
} from './hollow/nodes';
