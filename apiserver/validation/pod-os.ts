// Kubernetes' checks of a pod's operating system (pkg/apis/core/validation):
// spec.os.name, the fields each OS forbids (validateLinux, validateWindows),
// the Windows security options (validateWindowsSecurityContextOptions,
// validateWindowsHostProcessPod) and the container stop signal, whose
// allowed names depend on the OS. Paths and messages are Kubernetes' own.

import type { Cause } from '../../api/errors';
import type { Container, PodSpec, WindowsSecurityContextOptions } from '../../api/gen/tsk/v1/core';
import { isDNS1123Subdomain } from '../../api/labels';
import { forbidden, invalid, invalidEach, notSupported, required, type Path } from './field';

export const POD_OS_NAMES = ['linux', 'windows'];

/** Kubernetes' validateOS: spec.os.name is required and linux or windows (NotSupported is reported on spec.os, as Kubernetes does). */
export function validateOS(spec: PodSpec, path: Path): Cause[] {
  const os = spec.os;
  if (!os) return [];
  if (!os.name) return [required(path.child('name'), 'cannot be empty')];
  return POD_OS_NAMES.includes(os.name) ? [] : [notSupported(path, os.name, POD_OS_NAMES)];
}

/** Kubernetes' VisitContainersWithPath over init and regular containers (tsk has no ephemeral containers). */
function eachContainer(spec: PodSpec, path: Path, visit: (c: Container, p: Path) => void): void {
  (spec.initContainers ?? []).forEach((c, i) => visit(c, path.child('initContainers').index(i)));
  (spec.containers ?? []).forEach((c, i) => visit(c, path.child('containers').index(i)));
}

/** Kubernetes' validateLinux: a linux pod may not carry Windows options. */
export function validateLinux(spec: PodSpec, path: Path): Cause[] {
  const msg = 'windows options cannot be set for a linux pod';
  const errs: Cause[] = [];
  if (spec.securityContext?.windowsOptions) errs.push(forbidden(path.child('securityContext', 'windowsOptions'), msg));
  eachContainer(spec, path, (c, p) => {
    if (c.securityContext?.windowsOptions) errs.push(forbidden(p.child('securityContext', 'windowsOptions'), msg));
  });
  return errs;
}

const WINDOWS_MSG = 'cannot be set for a windows pod';

/** Kubernetes' validateWindows: the Linux-only fields a windows pod may not set, in Kubernetes' order. */
export function validateWindows(spec: PodSpec, path: Path): Cause[] {
  const errs: Cause[] = [];
  const no = (p: Path): number => errs.push(forbidden(p, WINDOWS_MSG));
  // Kubernetes keeps these in its internal PodSecurityContext, which always exists: checked with or without one.
  if (spec.hostUsers !== undefined) no(path.child('hostUsers'));
  if (spec.hostPID) no(path.child('hostPID'));
  if (spec.hostIPC) no(path.child('hostIPC'));
  if (spec.shareProcessNamespace !== undefined) no(path.child('shareProcessNamespace'));
  const sc = spec.securityContext;
  if (sc) {
    const scp = path.child('securityContext');
    if (sc.appArmorProfile) no(scp.child('appArmorProfile'));
    if (sc.seLinuxOptions) no(scp.child('seLinuxOptions'));
    if (sc.seccompProfile) no(scp.child('seccompProfile'));
    if (sc.fsGroup !== undefined) no(scp.child('fsGroup'));
    if (sc.fsGroupChangePolicy) no(scp.child('fsGroupChangePolicy'));
    if ((sc.sysctls ?? []).length > 0) no(scp.child('sysctls'));
    if (sc.runAsUser !== undefined) no(scp.child('runAsUser'));
    if (sc.runAsGroup !== undefined) no(scp.child('runAsGroup'));
    if ((sc.supplementalGroups ?? []).length > 0) no(scp.child('supplementalGroups'));
    if (sc.supplementalGroupsPolicy !== undefined) no(scp.child('supplementalGroupsPolicy'));
  }
  eachContainer(spec, path, (c, cp) => {
    const csc = c.securityContext;
    if (!csc) return;
    const p = cp.child('securityContext');
    if (csc.appArmorProfile) no(p.child('appArmorProfile'));
    if (csc.seLinuxOptions) no(p.child('seLinuxOptions'));
    if (csc.seccompProfile) no(p.child('seccompProfile'));
    if (csc.capabilities) no(p.child('capabilities'));
    if (csc.readOnlyRootFilesystem !== undefined) no(p.child('readOnlyRootFilesystem'));
    if (csc.privileged !== undefined) no(p.child('privileged'));
    if (csc.allowPrivilegeEscalation !== undefined) no(p.child('allowPrivilegeEscalation'));
    if (csc.procMount) no(p.child('procMount'));
    if (csc.runAsUser !== undefined) no(p.child('runAsUser'));
    if (csc.runAsGroup !== undefined) no(p.child('runAsGroup'));
  });
  return errs;
}

const MAX_GMSA_CREDENTIAL_SPEC_KIB = 64;
const MAX_RUN_AS_USER_NAME_DOMAIN = 256;
const MAX_RUN_AS_USER_NAME_USER = 104;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\x00-\x1f\x7f]/;
const NETBIOS_DOMAIN = /^[^\\/:*?"<>|.][^\\/:*?"<>|]{0,14}$/;
const DNS_DOMAIN = /^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?)*$/;
const INVALID_USER_CHARS = /["/\\:;|=,+*?<>@[\]]/;
const ONLY_DOTS_SPACES = /^[. ]+$/;

/** The format rules of a Windows user name, "User" or "DOMAIN\User" (Kubernetes' messages). */
function runAsUserNameErrors(name: string): string[] {
  if (CONTROL_CHARS.test(name)) return ['runAsUserName cannot contain control characters'];
  const parts = name.split('\\');
  if (parts.length > 2) return ['runAsUserName cannot contain more than one backslash'];
  const [domain, user] = parts.length === 1 ? ['', parts[0]!] : [parts[0]!, parts[1]!];
  const msgs: string[] = [];
  if (domain.length >= MAX_RUN_AS_USER_NAME_DOMAIN) {
    msgs.push(`runAsUserName's Domain length must be under ${MAX_RUN_AS_USER_NAME_DOMAIN} characters`);
  }
  if (parts.length === 2 && !(DNS_DOMAIN.test(domain) || NETBIOS_DOMAIN.test(domain))) {
    msgs.push("runAsUserName's Domain doesn't match the NetBios nor the DNS format");
  }
  if (user.length === 0) msgs.push("runAsUserName's User cannot be empty");
  else if (user.length > MAX_RUN_AS_USER_NAME_USER) {
    msgs.push(`runAsUserName's User length must not be longer than ${MAX_RUN_AS_USER_NAME_USER} characters`);
  }
  if (user === '.' || ONLY_DOTS_SPACES.test(user)) msgs.push("runAsUserName's User cannot contain only periods or spaces");
  if (INVALID_USER_CHARS.test(user)) msgs.push('runAsUserName\'s User cannot contain the following characters: "/\\:;|=,+*?<>@[]');
  return msgs;
}

/** Kubernetes' validateWindowsSecurityContextOptions, for a pod's and a container's securityContext.windowsOptions. */
export function validateWindowsSecurityContextOptions(opts: WindowsSecurityContextOptions | undefined, path: Path): Cause[] {
  if (!opts) return [];
  const errs: Cause[] = [];
  // The strings of windowsOptions are plain proto3 strings: '' is "not set" (a pod read back from storage has them all).
  if (opts.gmsaCredentialSpecName) {
    errs.push(...invalidEach(path.child('gmsaCredentialSpecName'), opts.gmsaCredentialSpecName, isDNS1123Subdomain(opts.gmsaCredentialSpecName)));
  }
  const spec = opts.gmsaCredentialSpec;
  if (spec && Buffer.byteLength(spec) > MAX_GMSA_CREDENTIAL_SPEC_KIB * 1024) {
    errs.push(invalid(path.child('gmsaCredentialSpec'), spec, `gmsaCredentialSpec size must be under ${MAX_GMSA_CREDENTIAL_SPEC_KIB} KiB`));
  }
  const name = opts.runAsUserName;
  if (name) errs.push(...invalidEach(path.child('runAsUserName'), name, runAsUserNameErrors(name)));
  return errs;
}

/** Every windowsOptions of the pod and its containers, validated (Kubernetes checks them whatever spec.os says). */
export function validateAllWindowsOptions(spec: PodSpec, path: Path): Cause[] {
  const errs = validateWindowsSecurityContextOptions(spec.securityContext?.windowsOptions, path.child('securityContext', 'windowsOptions'));
  eachContainer(spec, path, (c, p) => {
    errs.push(...validateWindowsSecurityContextOptions(c.securityContext?.windowsOptions, p.child('securityContext', 'windowsOptions')));
  });
  return errs;
}

/**
 * Kubernetes' validateWindowsHostProcessPod: a pod with a hostProcess
 * container must be all hostProcess containers, the pod's and a container's
 * values must agree, and it must use the host network.
 */
export function validateWindowsHostProcessPod(spec: PodSpec, path: Path): Cause[] {
  const errs: Cause[] = [];
  const podHostProcess = spec.securityContext?.windowsOptions?.hostProcess;
  let containers = 0;
  let hostProcess = 0;
  eachContainer(spec, path, (c, p) => {
    containers++;
    const own = c.securityContext?.windowsOptions?.hostProcess;
    if (podHostProcess !== undefined && own !== undefined && own !== podHostProcess) {
      const msg = `pod hostProcess value must be identical if both are specified, was ${podHostProcess}`;
      errs.push(invalid(p.child('securityContext', 'windowsOptions', 'hostProcess'), own, msg));
    }
    if ((own ?? podHostProcess) === true) hostProcess++;
  });
  if (hostProcess === 0) return errs;
  if (hostProcess !== containers) {
    errs.push(invalid(path, '', 'If pod contains any hostProcess containers then all containers must be HostProcess containers'));
  }
  if (!spec.hostNetwork) {
    errs.push(invalid(path.child('hostNetwork'), false, 'hostNetwork must be true if pod contains any hostProcess containers'));
  }
  return errs;
}

/** The signals a Linux container may be stopped with (Kubernetes' supportedStopSignalsLinux). */
export const STOP_SIGNALS_LINUX = [
  'SIGABRT',
  'SIGALRM',
  'SIGBUS',
  'SIGCHLD',
  'SIGCLD',
  'SIGCONT',
  'SIGFPE',
  'SIGHUP',
  'SIGILL',
  'SIGINT',
  'SIGIO',
  'SIGIOT',
  'SIGKILL',
  'SIGPIPE',
  'SIGPOLL',
  'SIGPROF',
  'SIGPWR',
  'SIGQUIT',
  'SIGSEGV',
  'SIGSTKFLT',
  'SIGSTOP',
  'SIGSYS',
  'SIGTERM',
  'SIGTRAP',
  'SIGTSTP',
  'SIGTTIN',
  'SIGTTOU',
  'SIGURG',
  'SIGUSR1',
  'SIGUSR2',
  'SIGVTALRM',
  'SIGWINCH',
  'SIGXCPU',
  'SIGXFSZ',
  'SIGRTMIN',
  ...Array.from({ length: 15 }, (_, i) => `SIGRTMIN+${i + 1}`),
  ...Array.from({ length: 14 }, (_, i) => `SIGRTMAX-${14 - i}`),
  'SIGRTMAX',
].sort();
export const STOP_SIGNALS_WINDOWS = ['SIGKILL', 'SIGTERM'];

/** Kubernetes' validateStopSignal: only with spec.os.name, and from that OS's list. */
export function validateStopSignal(signal: string | undefined, os: string | undefined, path: Path): Cause[] {
  if (!signal) return [];
  if (!os) return [forbidden(path, 'may not be set for containers with empty `spec.os.name`')];
  const list = os === 'windows' ? STOP_SIGNALS_WINDOWS : os === 'linux' ? STOP_SIGNALS_LINUX : undefined;
  return list && !list.includes(signal) ? [notSupported(path, signal, list)] : [];
}
