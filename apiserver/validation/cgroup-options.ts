// securityContext.cgroupOptions (KEP-5474, "Enable Writable Cgroups"):
// mountMode ReadOnly (the default: /sys/fs/cgroup as every container has it)
// or ReadWrite (the container's own cgroup subtree writable, so it can make
// child cgroups and move its processes between them). The KEP relies on
// cgroup v2 delegation to keep a container inside its subtree; what the API
// can check is that the container does not also ask to gain privileges:
// ReadWrite is refused unless allowPrivilegeEscalation is explicitly false
// (as the documentation's example sets it), which also rules out privileged
// containers (they cannot set allowPrivilegeEscalation false). Whether the
// node runs cgroup v2 is the kubelet's check, at container creation.

import type { Cause } from '../../api/errors';
import type { SecurityContext } from '../../api/gen/tsk/v1/core';
import { forbidden, notSupported, type Path } from './field';

export const CGROUP_MOUNT_MODES = ['ReadOnly', 'ReadWrite'];

/** The causes for a container's securityContext.cgroupOptions; path is the securityContext's. */
export function validateCgroupOptions(sc: SecurityContext | undefined, path: Path): Cause[] {
  const options = sc?.cgroupOptions;
  if (!options) return [];
  const p = path.child('cgroupOptions', 'mountMode');
  const mode = options.mountMode ?? '';
  // Unset means ReadOnly (defaulted), as an empty mountMode.
  if (mode === '' || mode === 'ReadOnly') return [];
  if (mode !== 'ReadWrite') return [notSupported(p, mode, CGROUP_MOUNT_MODES)];
  if (sc?.privileged === true) return [forbidden(p, 'ReadWrite may not be set for a privileged container')];
  if (sc?.allowPrivilegeEscalation !== false) return [forbidden(p, 'ReadWrite requires allowPrivilegeEscalation to be false')];
  return [];
}
