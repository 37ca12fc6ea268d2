// Which device nodes a container may create and open. Containers keep
// CAP_MKNOD (Docker's default set), so without this a root process could
// mknod the host's disk and read it, and an image layer could ship such a
// node. As runc and Docker do: deny everything, then allow mknod of any
// node (so images and package installs that make nodes still work) and
// read/write/mknod of the harmless character devices every container gets.
//
// cgroup v1 expresses the rules in the devices controller's files (written
// here, before the container's init joins the cgroup); cgroup v2 has no such
// controller, so tsk-shim attaches an eBPF program built from the same rules
// (native/tsk-devices.h) before the init joins. Pure; unit-tested.

/**
 * One rule over a default of "deny everything". v2 (eBPF) applies the first
 * rule that matches; v1 keeps a list of allowed exceptions, where a deny
 * removes what an earlier allow granted. Allow-only lists (all tsk uses) mean
 * the same on both.
 */
export interface DeviceRule {
  allow: boolean;
  /** a: any, b: block, c: character. */
  type: 'a' | 'b' | 'c';
  major: number | '*';
  minor: number | '*';
  /** A non-empty subset of "rwm" (read, write, mknod). */
  access: string;
}

const rule = (type: 'b' | 'c', major: number | '*', minor: number | '*', access: string): DeviceRule => ({ allow: true, type, major, minor, access });

/**
 * runc's built-in allow list (libcontainer/specconv AllowedDevices, which
 * Docker's containers get): mknod of anything; /dev/null, random, full,
 * tty, zero, urandom; the pty slaves and ptmx of the container's own devpts;
 * /dev/net/tun (runc dropped it in 1.2.0 and restored it in 1.2.4 because
 * users rely on it). Early runc also allowed /dev/console (5:1), which is the
 * host's console unless a console is set up for the container: not here.
 */
export const DEFAULT_DEVICE_RULES: readonly DeviceRule[] = [
  rule('c', '*', '*', 'm'),
  rule('b', '*', '*', 'm'),
  rule('c', 1, 3, 'rwm'), // null
  rule('c', 1, 8, 'rwm'), // random
  rule('c', 1, 7, 'rwm'), // full
  rule('c', 5, 0, 'rwm'), // tty
  rule('c', 1, 5, 'rwm'), // zero
  rule('c', 1, 9, 'rwm'), // urandom
  rule('c', 136, '*', 'rwm'), // pts
  rule('c', 5, 2, 'rwm'), // ptmx
  rule('c', 10, 200, 'rwm'), // net/tun
];

/** Privileged containers (docker run --privileged, Kubernetes privileged: true) may use every device. */
export const PRIVILEGED_DEVICE_RULES: readonly DeviceRule[] = [{ allow: true, type: 'a', major: '*', minor: '*', access: 'rwm' }];

/** Throws on a rule the kernel would reject, naming the field. */
export function validateDeviceRule(r: DeviceRule): void {
  const num = (v: number | '*', field: string, max: number): void => {
    if (v !== '*' && !(Number.isInteger(v) && v >= 0 && v <= max)) throw new Error(`device rule: ${field} ${String(v)} is not * or an integer in [0, ${max}]`);
  };
  if (!['a', 'b', 'c'].includes(r.type)) throw new Error(`device rule: type "${String(r.type)}" is not a, b or c`);
  num(r.major, 'major', 0xfff);
  num(r.minor, 'minor', 0xfffff);
  if (!/^(?!.*(.).*\1)[rwm]{1,3}$/.test(r.access)) throw new Error(`device rule: access "${r.access}" is not a non-empty subset of rwm`);
}

/** "c 1:3 rwm": the devices controller's syntax. */
export function formatDeviceRule(r: DeviceRule): string {
  validateDeviceRule(r);
  return `${r.type} ${r.major}:${r.minor} ${r.access}`;
}

/** The spec line value for tsk-shim: "allow c 1:3 rwm". */
export function shimDeviceRule(r: DeviceRule): string {
  return `${r.allow ? 'allow' : 'deny'} ${formatDeviceRule(r)}`;
}

/**
 * cgroup v1: the writes, in order, that leave exactly `rules` in the
 * cgroup's devices.list. "a" to devices.deny first drops whatever the new
 * cgroup inherited from its parent.
 */
export function v1DeviceWrites(rules: readonly DeviceRule[]): Array<[file: 'devices.allow' | 'devices.deny', value: string]> {
  return [
    ['devices.deny', 'a'],
    ...rules.map((r): ['devices.allow' | 'devices.deny', string] => [r.allow ? 'devices.allow' : 'devices.deny', formatDeviceRule(r)]),
  ];
}
