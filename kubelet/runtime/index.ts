// The container runtime's public face (a component of its own inside the
// kubelet folder, as containerd beside a kubelet): the `tsk runtime` command,
// the runtime and image store the lab cleans nodes up with, and the image
// builder the demo and the benchmarks load busybox with. It is imported
// apart from kubelet/index.ts so `tsk runtime` starts without the kubelet's
// API client.

export { main } from './cli/main';
export { NativeRuntime } from './native-runtime';
export { cleanupRuntime } from './scratch';
export { CgroupManager, detectCgroupLayout } from './cgroups/cgroups';
export { FILES, readPid } from './container/state';
export { ImageStore } from './image/store';
export {
  buildImage,
  buildLayer,
  busyboxImage,
  busyboxRootfs,
  dockerSaveArchive,
  importBusybox,
  ociLayoutArchive,
  pushImage,
  type BuiltImage,
  type BuiltLayer,
  type ImageConfigSpec,
  type LayerSpec,
} from './image/builder';
