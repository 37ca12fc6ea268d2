// Where tsk's built-in runtime keeps what /metrics/cadvisor reads: the pod
// and container cgroups its CgroupManager made, and each container's
// overlay upper directory.

import type { NativeRuntime } from '../runtime/native-runtime';
import type { CadvisorPaths } from './collector';

export function nativeCadvisorPaths(runtime: NativeRuntime): CadvisorPaths {
  const cgroups = runtime.cgroups;
  return {
    cgroupVersion: cgroups.layout.version,
    podCgroup: (uid) => cgroups.podPath(uid),
    containerCgroup: (uid, id) => cgroups.containerPath(uid, id),
    cgroupDir: (controller, rel) => cgroups.controllerDir(controller, rel),
    upperDir: (id) => runtime.containerUpperDir(id),
  };
}
