// Pod validation: Kubernetes' ValidatePodSpec and the container, volume,
// probe, port, environment and toleration checks under it, with the same
// field paths and messages; and ValidatePodUpdate's rule that a pod's spec
// is immutable but for images, activeDeadlineSeconds and added tolerations.

import type { Cause } from '../../api/errors';
import type {
  Container,
  ContainerRestartRule,
  ContainerResizePolicy,
  ContainerPort,
  EnvVar,
  Lifecycle,
  LifecycleHandler,
  Pod,
  PodSpec,
  PodTemplateSpec,
  Probe,
  Toleration,
  Volume,
  VolumeMount,
} from '../../api/gen/tsk/v1/core';
import type { IntOrString, ObjectMeta } from '../../api/gen/tsk/v1/meta';
import { isDNS1123Label, isDNS1123Subdomain, isQualifiedName, validateLabelValue } from '../../api/labels';
import { decimalIntegerErrors } from '../../api/tolerations';
import { validateAffinity } from './affinity';
import { validateTopologySpreadConstraints } from './pod-affinity';
import { duplicate, forbidden, invalid, invalidEach, notFound, notSupported, Path, required, tooMany } from './field';
import { nameIsDNSSubdomain, validateAnnotations, validateLabels, validateObjectMeta, validateObjectMetaUpdate } from './meta';
import { parseQuantityField, validatePodResources, validateResourceRequirements } from './resources';
import { validateGatedNodeName, validateOnlyDeletedSchedulingGates, validateSchedulingGates } from './scheduling-gates';
import { validateApiDataVolume, validateEnvFrom, validateKeyRefs } from './pod-api-data';
import { semanticDiff } from './semantic';
import { validateHostAliases, validatePodDNSConfig } from './pod-dns';
import { validateImageVolumeSource } from './image-volume';
import { validateCgroupOptions } from './cgroup-options';
import { validateAllWindowsOptions, validateLinux, validateOS, validateStopSignal, validateWindows, validateWindowsHostProcessPod } from './pod-os';
import { hasBacksteps, inclusiveRangeError, isEnvVarName, isHTTPHeaderName, isValidIP, isValidPortName, isValidPortNum, NONNEGATIVE_MSG } from './values';

export const SUPPORTED_PROTOCOLS = ['SCTP', 'TCP', 'UDP'];
const RESTART_POLICIES = ['Always', 'OnFailure', 'Never'];
const DNS_POLICIES = ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'];
const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'];
const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];
const HOST_PATH_TYPES = ['', 'DirectoryOrCreate', 'Directory', 'FileOrCreate', 'File', 'Socket', 'CharDevice', 'BlockDevice'];
const HTTP_SCHEMES = ['HTTP', 'HTTPS'];
const ENV_FIELD_PATHS = [
  'metadata.name',
  'metadata.namespace',
  'metadata.uid',
  'spec.nodeName',
  'spec.serviceAccountName',
  'status.hostIP',
  'status.hostIPs',
  'status.podIP',
  'status.podIPs',
];
const ENV_RESOURCES = ['limits.cpu', 'limits.ephemeral-storage', 'limits.memory', 'requests.cpu', 'requests.ephemeral-storage', 'requests.memory'];
const MAX_INT32 = 2147483647;
const RRO_MODES = ['Disabled', 'IfPossible', 'Enabled'];
const SUPPLEMENTAL_GROUPS_POLICIES = ['Merge', 'Strict'];

const has = (list: readonly string[], v: string): boolean => list.includes(v);

/** An enumerated string field: Required when empty, NotSupported when unknown. */
export function validateEnum(value: string | undefined, supported: readonly string[], path: Path): Cause[] {
  if (!value) return [required(path)];
  return has(supported, value) ? [] : [notSupported(path, value, supported)];
}

export function validateTaintEffect(effect: string | undefined, allowEmpty: boolean, path: Path): Cause[] {
  if (!effect) return allowEmpty ? [] : [required(path)];
  return has(TAINT_EFFECTS, effect) ? [] : [notSupported(path, effect, TAINT_EFFECTS)];
}

/** A port given as a number (1-65535) or a name (IANA_SVC_NAME). */
export function validatePortNumOrName(port: IntOrString | undefined, path: Path): Cause[] {
  if (port?.type === 1) return invalidEach(path, port.strVal ?? '', isValidPortName(port.strVal ?? ''));
  const n = port?.intVal ?? 0;
  return invalidEach(path, n, isValidPortNum(n));
}

// ---------------------------------------------------------------- volumes

/** The largest emptyDir.mode: the permission bits plus the sticky bit (01777). */
const EMPTY_DIR_MAX_MODE = 0o1777;

function validateVolume(v: Volume, path: Path): Cause[] {
  const errs: Cause[] = [];
  let sources = 0;
  if (v.emptyDir) {
    sources++;
    const p = path.child('emptyDir');
    const medium = v.emptyDir.medium ?? '';
    if (medium && medium !== 'Memory' && medium !== 'HugePages' && !medium.startsWith('HugePages-')) {
      errs.push(notSupported(p.child('medium'), medium, ['', 'Memory', 'HugePages']));
    }
    if (v.emptyDir.sizeLimit) {
      const q = parseQuantityField(v.emptyDir.sizeLimit, p.child('sizeLimit'));
      if (!('nanos' in q)) errs.push(q);
      else if (q.sign() < 0) errs.push(forbidden(p.child('sizeLimit'), 'SizeLimit field must be a valid resource quantity'));
    }
    const mode = v.emptyDir.mode;
    if (mode !== undefined && (mode < 0 || mode > EMPTY_DIR_MAX_MODE)) {
      errs.push(invalid(p.child('mode'), mode, 'must be a number between 0 and 01777 (octal), both inclusive'));
    }
  }
  if (v.hostPath) {
    const p = path.child('hostPath');
    if (sources > 0) {
      errs.push(forbidden(p, 'may not specify more than 1 volume type'));
    } else {
      sources++;
      const hp = v.hostPath.path ?? '';
      if (!hp) errs.push(required(p.child('path')));
      // Kubernetes does not ask for an absolute path here ("C:\\etc" is a Windows pod's); the kubelet refuses a relative one.
      else if (hasBacksteps(hp)) errs.push(invalid(p.child('path'), hp, "must not contain '..'"));
      const type = v.hostPath.type ?? '';
      if (!has(HOST_PATH_TYPES, type)) errs.push(notSupported(p.child('type'), type, HOST_PATH_TYPES));
    }
  }
  if (v.image) {
    const p = path.child('image');
    if (sources > 0) {
      errs.push(forbidden(p, 'may not specify more than 1 volume type'));
    } else {
      sources++;
      errs.push(...validateImageVolumeSource(v.image, p));
    }
  }
  const api = validateApiDataVolume(v, path);
  errs.push(...api.errs);
  if (sources + api.sources > 1) errs.push(forbidden(path, 'may not specify more than 1 volume type'));
  if (sources + api.sources === 0) errs.push(required(path, 'must specify a volume type'));
  return errs;
}

/** Validates the volumes; returns the names defined, for the mounts. */
function validateVolumes(volumes: readonly Volume[], path: Path, errs: Cause[]): Set<string> {
  const names = new Set<string>();
  volumes.forEach((v, i) => {
    const p = path.index(i);
    errs.push(...validateVolume(v, p));
    const name = v.name ?? '';
    if (!name) errs.push(required(p.child('name')));
    else errs.push(...invalidEach(p.child('name'), name, isDNS1123Label(name)));
    if (names.has(name)) errs.push(duplicate(p.child('name'), name));
    else names.add(name);
  });
  return names;
}

function validateVolumeMounts(mounts: readonly VolumeMount[], volumes: ReadonlySet<string>, path: Path): Cause[] {
  const errs: Cause[] = [];
  const mountPoints = new Set<string>();
  mounts.forEach((m, i) => {
    const p = path.index(i);
    const name = m.name ?? '';
    if (!name) errs.push(required(p.child('name')));
    else if (!volumes.has(name)) errs.push(notFound(p.child('name'), name));
    const mountPath = m.mountPath ?? '';
    if (!mountPath) errs.push(required(p.child('mountPath')));
    // No absolute-path rule, as Kubernetes ("C:/scratch" is a Windows pod's); the runtime refuses a relative one.
    if (mountPath && mountPoints.has(mountPath)) errs.push(invalid(p.child('mountPath'), mountPath, 'must be unique'));
    mountPoints.add(mountPath);
    const sub = m.subPath ?? '';
    errs.push(...validateLocalDescendingPath(sub, p.child('subPath')));
    const expr = m.subPathExpr ?? '';
    if (expr) {
      if (sub) errs.push(invalid(p.child('subPathExpr'), expr, 'subPathExpr and subPath are mutually exclusive'));
      // Checked again after expansion, by the kubelet: a variable may hold "..".
      errs.push(...validateLocalDescendingPath(expr, p.child('subPathExpr')));
    }
    errs.push(...validateRecursiveReadOnly(m, p.child('recursiveReadOnly')));
  });
  return errs;
}

/** Kubernetes' rule: a recursive read-only mount must be read-only and not propagate mounts (a later submount would be writable). */
function validateRecursiveReadOnly(m: VolumeMount, path: Path): Cause[] {
  const mode = m.recursiveReadOnly;
  if (mode === undefined || mode === 'Disabled') return [];
  if (!has(RRO_MODES, mode)) return [notSupported(path, mode, RRO_MODES)];
  const errs: Cause[] = [];
  if (!m.readOnly) errs.push(forbidden(path, 'may only be specified when readOnly is true'));
  if (m.mountPropagation && m.mountPropagation !== 'None') {
    errs.push(forbidden(path, 'may only be specified when mountPropagation is None or not specified'));
  }
  return errs;
}

/** The pod-level parts of Kubernetes' ValidatePodSecurityContext that tsk honours beyond the containers'. */
function validatePodSecurityContext(spec: PodSpec, path: Path): Cause[] {
  const errs: Cause[] = [];
  if (spec.shareProcessNamespace && spec.hostPID) {
    errs.push(invalid(path.child('shareProcessNamespace'), true, 'ShareProcessNamespace and HostPID cannot both be enabled'));
  }
  const policy = spec.securityContext?.supplementalGroupsPolicy;
  if (policy !== undefined && !has(SUPPLEMENTAL_GROUPS_POLICIES, policy)) {
    errs.push(notSupported(path.child('securityContext', 'supplementalGroupsPolicy'), policy, SUPPLEMENTAL_GROUPS_POLICIES));
  }
  return [...errs, ...validateHostUsers(spec, path)];
}

/**
 * Kubernetes' validateHostUsers: a pod in a user namespace of its own
 * (hostUsers: false) may not share the node's network, PID or IPC
 * namespace, which belong to the node's user namespace. Field names and
 * messages are Kubernetes' own, capitals included.
 */
export function validateHostUsers(spec: PodSpec, path: Path): Cause[] {
  if (spec.hostUsers !== false) return [];
  const errs: Cause[] = [];
  const msg = 'when `pod.Spec.HostUsers` is false';
  if (spec.hostNetwork) errs.push(forbidden(path.child('hostNetwork'), msg));
  if (spec.hostPID) errs.push(forbidden(path.child('HostPID'), msg));
  if (spec.hostIPC) errs.push(forbidden(path.child('HostIPC'), msg));
  return errs;
}

/** Kubernetes' validateLocalDescendingPath: relative, and never stepping up with "..". */
function validateLocalDescendingPath(value: string, path: Path): Cause[] {
  const errs: Cause[] = [];
  if (!value) return errs;
  if (value.startsWith('/')) errs.push(invalid(path, value, 'must be a relative path'));
  if (hasBacksteps(value)) errs.push(invalid(path, value, "must not contain '..'"));
  return errs;
}

// ---------------------------------------------------------------- containers

function validatePorts(ports: readonly ContainerPort[], path: Path): Cause[] {
  const errs: Cause[] = [];
  const names = new Set<string>();
  ports.forEach((port, i) => {
    const p = path.index(i);
    const name = port.name ?? '';
    if (name) {
      const msgs = isValidPortName(name);
      if (msgs.length > 0) errs.push(...invalidEach(p.child('name'), name, msgs));
      else if (names.has(name)) errs.push(duplicate(p.child('name'), name));
      else names.add(name);
    }
    const cp = port.containerPort ?? 0;
    if (cp === 0) errs.push(required(p.child('containerPort')));
    else errs.push(...invalidEach(p.child('containerPort'), cp, isValidPortNum(cp)));
    const hp = port.hostPort ?? 0;
    if (hp !== 0) errs.push(...invalidEach(p.child('hostPort'), hp, isValidPortNum(hp)));
    errs.push(...validateEnum(port.protocol, SUPPORTED_PROTOCOLS, p.child('protocol')));
    if (port.hostIP) errs.push(...invalidEach(p.child('hostIP'), port.hostIP, isValidIP(port.hostIP)));
  });
  return errs;
}

function validateEnvFieldPath(fieldPath: string, path: Path): Cause[] {
  // metadata.labels['key'] and metadata.annotations['key'] select one entry.
  const sub = /^metadata\.(labels|annotations)\['(.*)'\]$/.exec(fieldPath);
  if (sub) {
    const key = sub[2]!;
    const msgs = sub[1] === 'labels' ? isQualifiedName(key) : isQualifiedName(key.toLowerCase());
    return invalidEach(path, key, msgs);
  }
  if (fieldPath === 'metadata.labels' || fieldPath === 'metadata.annotations' || has(ENV_FIELD_PATHS, fieldPath)) return [];
  return [notSupported(path, fieldPath, ['metadata.annotations', 'metadata.labels', ...ENV_FIELD_PATHS])];
}

function validateEnvVarSource(ev: EnvVar, path: Path, containerNames: ReadonlySet<string>): Cause[] {
  const src = ev.valueFrom!;
  const errs: Cause[] = [];
  const sources = (src.fieldRef ? 1 : 0) + (src.resourceFieldRef ? 1 : 0) + (src.configMapKeyRef ? 1 : 0) + (src.secretKeyRef ? 1 : 0);
  if (ev.value) errs.push(invalid(path, '', 'may not be specified when `value` is not empty'));
  if (sources === 0) errs.push(invalid(path, '', 'must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`'));
  if (sources > 1) return [...errs, invalid(path, '', 'may not have more than one field specified at a time')];
  errs.push(...validateKeyRefs(src, path));
  if (src.fieldRef) {
    const p = path.child('fieldRef');
    if (!src.fieldRef.apiVersion) errs.push(required(p.child('apiVersion')));
    const fp = src.fieldRef.fieldPath ?? '';
    if (!fp) errs.push(required(p.child('fieldPath')));
    else errs.push(...validateEnvFieldPath(fp, p.child('fieldPath')));
  }
  if (src.resourceFieldRef) {
    const p = path.child('resourceFieldRef');
    const ref = src.resourceFieldRef;
    const resource = ref.resource ?? '';
    if (!resource) errs.push(required(p.child('resource')));
    else if (!has(ENV_RESOURCES, resource)) errs.push(notSupported(p.child('resource'), resource, ENV_RESOURCES));
    if (ref.containerName && !containerNames.has(ref.containerName)) {
      errs.push(notFound(p.child('containerName'), ref.containerName));
    }
    if (ref.divisor) {
      const q = parseQuantityField(ref.divisor, p.child('divisor'));
      if (!('nanos' in q)) errs.push(q);
      else if (q.sign() <= 0) errs.push(invalid(p.child('divisor'), ref.divisor, 'must be greater than 0'));
    }
  }
  return errs;
}

function validateEnv(env: readonly EnvVar[], path: Path, containerNames: ReadonlySet<string>): Cause[] {
  const errs: Cause[] = [];
  env.forEach((ev, i) => {
    const p = path.index(i);
    const name = ev.name ?? '';
    if (!name) errs.push(required(p.child('name')));
    else errs.push(...invalidEach(p.child('name'), name, isEnvVarName(name)));
    if (ev.valueFrom) errs.push(...validateEnvVarSource(ev, p.child('valueFrom'), containerNames));
  });
  return errs;
}

/**
 * Kubernetes' validateHandler, shared by probes and lifecycle hooks: exactly
 * one handler type, each valid. `sleep` exists only for hooks; gracePeriod
 * bounds it (undefined: not checked, as Kubernetes with a nil period).
 */
function validateHandler(h: Probe | LifecycleHandler, path: Path, gracePeriod?: number): Cause[] {
  const errs: Cause[] = [];
  let handlers = 0;
  /** The first handler counts and is validated; any further one is Forbidden. */
  const one = (field: string): boolean => {
    if (handlers > 0) {
      errs.push(forbidden(path.child(field), 'may not specify more than 1 handler type'));
      return false;
    }
    handlers++;
    return true;
  };
  if (h.exec && one('exec')) {
    if (!h.exec.command || h.exec.command.length === 0) errs.push(required(path.child('exec', 'command')));
  }
  if (h.httpGet && one('httpGet')) {
    const p = path.child('httpGet');
    if (!h.httpGet.path) errs.push(required(p.child('path')));
    errs.push(...validatePortNumOrName(h.httpGet.port, p.child('port')));
    const scheme = h.httpGet.scheme ?? '';
    if (!has(HTTP_SCHEMES, scheme)) errs.push(notSupported(p.child('scheme'), scheme, HTTP_SCHEMES));
    (h.httpGet.httpHeaders ?? []).forEach((hd, i) => {
      errs.push(...invalidEach(p.child('httpHeaders').index(i).child('name'), hd.name ?? '', isHTTPHeaderName(hd.name ?? '')));
    });
  }
  if (h.tcpSocket && one('tcpSocket')) errs.push(...validatePortNumOrName(h.tcpSocket.port, path.child('tcpSocket', 'port')));
  if ('sleep' in h && h.sleep && one('sleep')) {
    const secs = h.sleep.seconds ?? 0;
    if (gracePeriod !== undefined && (secs <= 0 || secs > gracePeriod)) {
      const why = `must be greater than 0 and less than terminationGracePeriodSeconds (${gracePeriod})`;
      errs.push(invalid(path.child('sleep'), secs, why));
    }
  }
  if (handlers === 0) errs.push(required(path, 'must specify a handler type'));
  return errs;
}

/** Kubernetes' validateLifecycle, with its stopSignal rule (which depends on spec.os.name). */
function validateLifecycle(lc: Lifecycle | undefined, path: Path, gracePeriod: number | undefined, os: string | undefined): Cause[] {
  if (!lc) return [];
  const errs: Cause[] = [];
  if (lc.postStart) errs.push(...validateHandler(lc.postStart, path.child('postStart'), gracePeriod));
  if (lc.preStop) errs.push(...validateHandler(lc.preStop, path.child('preStop'), gracePeriod));
  errs.push(...validateStopSignal(lc.stopSignal, os, path.child('stopSignal')));
  return errs;
}

function validateProbe(probe: Probe | undefined, path: Path): Cause[] {
  if (!probe) return [];
  const errs = validateHandler(probe, path);
  for (const f of ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold'] as const) {
    const v = probe[f] ?? 0;
    if (v < 0) errs.push(invalid(path.child(f), v, NONNEGATIVE_MSG));
  }
  const tgps = probe.terminationGracePeriodSeconds;
  if (tgps !== undefined && tgps !== null && tgps <= 0) {
    errs.push(invalid(path.child('terminationGracePeriodSeconds'), tgps, 'must be greater than 0'));
  }
  return errs;
}

interface ContainerContext {
  readonly volumes: ReadonlySet<string>;
  /** Names of every container of the pod (for env resourceFieldRef). */
  readonly containerNames: ReadonlySet<string>;
  readonly init: boolean;
  /** spec.terminationGracePeriodSeconds (defaulted before validation), the bound of a sleep hook. */
  readonly gracePeriod: number | undefined;
  /** spec.restartPolicy (defaulted before validation). */
  readonly podRestartPolicy: string | undefined;
  /** spec.os.name, which decides the allowed stop signals. */
  readonly os: string | undefined;
}

const CONTAINER_RESTART_POLICIES = ['Always', 'Never', 'OnFailure'];
const RESTART_RULE_ACTIONS = ['Restart', 'RestartAllContainers'];
const SIDECAR_RULE_ACTIONS = ['RestartAllContainers'];
const RESTART_RULE_OPERATORS = ['In', 'NotIn'];
const MAX_RESTART_RULES = 20;
const MAX_RESTART_RULE_VALUES = 255;

/**
 * Kubernetes' container restartPolicy and restartPolicyRules (KEP-5307,
 * KEP-5532): any container may set its own policy (Always on an init
 * container makes it a sidecar); rules need the container's own policy, at
 * most 20 of them, each with an action (on a sidecar only
 * RestartAllContainers) and an exitCodes condition of In or NotIn over at
 * most 255 distinct values.
 */
function validateContainerRestartPolicy(c: Container, path: Path, init: boolean): Cause[] {
  const policy = c.restartPolicy;
  const rules = c.restartPolicyRules ?? [];
  if (policy === undefined || policy === '') {
    return rules.length > 0 ? [required(path.child('restartPolicy'), 'must specify restartPolicy when restart rules are used')] : [];
  }
  const errs: Cause[] = [];
  if (!CONTAINER_RESTART_POLICIES.includes(policy)) errs.push(notSupported(path.child('restartPolicy'), policy, CONTAINER_RESTART_POLICIES));
  const rulesPath = path.child('restartPolicyRules');
  if (rules.length > MAX_RESTART_RULES) errs.push(tooMany(rulesPath, rules.length, MAX_RESTART_RULES));
  // A sidecar restarts whatever its rules say: only RestartAllContainers means something there (KEP-5532).
  const actions = init && policy === 'Always' ? SIDECAR_RULE_ACTIONS : RESTART_RULE_ACTIONS;
  rules.forEach((rule, i) => errs.push(...validateContainerRestartRule(rule, rulesPath.index(i), actions)));
  return errs;
}

function validateContainerRestartRule(rule: ContainerRestartRule, path: Path, actions: readonly string[]): Cause[] {
  const errs: Cause[] = [];
  const action = rule.action ?? '';
  if (!actions.includes(action)) errs.push(notSupported(path.child('action'), action, actions));
  const codes = rule.exitCodes;
  if (!codes) return [...errs, required(path.child('exitCodes'), 'must be specified')];
  const codesPath = path.child('exitCodes');
  const operator = codes.operator ?? '';
  if (!RESTART_RULE_OPERATORS.includes(operator)) errs.push(notSupported(codesPath.child('operator'), operator, RESTART_RULE_OPERATORS));
  const values = codes.values ?? [];
  if (values.length > MAX_RESTART_RULE_VALUES) errs.push(tooMany(codesPath.child('values'), values.length, MAX_RESTART_RULE_VALUES));
  // A set (listType=set): each exit code once.
  const seen = new Set<number>();
  values.forEach((v, i) => {
    if (seen.has(v)) errs.push(duplicate(codesPath.child('values').index(i), v));
    seen.add(v);
  });
  return errs;
}

const RESIZE_RESOURCES = ['cpu', 'memory'];
const RESIZE_RESTART_POLICIES = ['NotRequired', 'RestartContainer'];

/**
 * Kubernetes' validateResizePolicy: cpu or memory, each once, NotRequired or
 * RestartContainer; a pod that is never restarted cannot restart on resize.
 */
export function validateResizePolicy(policies: readonly ContainerResizePolicy[], path: Path, podRestartPolicy: string | undefined): Cause[] {
  const errs: Cause[] = [];
  const seen = new Set<string>();
  policies.forEach((p, i) => {
    const name = p.resourceName ?? '';
    if (seen.has(name)) errs.push(duplicate(path.index(i), name));
    seen.add(name);
    if (name === '') errs.push(required(path, ''));
    else if (!RESIZE_RESOURCES.includes(name)) errs.push(notSupported(path, name, RESIZE_RESOURCES));
    const policy = p.restartPolicy ?? '';
    if (policy === '') errs.push(required(path, ''));
    else if (!RESIZE_RESTART_POLICIES.includes(policy)) errs.push(notSupported(path, policy, RESIZE_RESTART_POLICIES));
    if (podRestartPolicy === 'Never' && policy !== 'NotRequired') {
      errs.push(invalid(path, policy, "must be 'NotRequired' when `restartPolicy` is 'Never'"));
    }
  });
  return errs;
}

function validateContainer(c: Container, path: Path, ctx: ContainerContext): Cause[] {
  const errs: Cause[] = [];
  const name = c.name ?? '';
  if (!name) errs.push(required(path.child('name')));
  else errs.push(...invalidEach(path.child('name'), name, isDNS1123Label(name)));
  const image = c.image ?? '';
  if (!image) errs.push(required(path.child('image')));
  else if (image !== image.trim()) errs.push(invalid(path.child('image'), image, 'must not have leading or trailing whitespace'));
  errs.push(...validateEnum(c.imagePullPolicy, PULL_POLICIES, path.child('imagePullPolicy')));
  errs.push(...validatePorts(c.ports ?? [], path.child('ports')));
  errs.push(...validateEnv(c.env ?? [], path.child('env'), ctx.containerNames));
  errs.push(...validateEnvFrom(c.envFrom ?? [], path.child('envFrom')));
  errs.push(...validateVolumeMounts(c.volumeMounts ?? [], ctx.volumes, path.child('volumeMounts')));
  errs.push(...validateResourceRequirements(c.resources, path.child('resources')));
  if (c.terminationMessagePath && !c.terminationMessagePath.startsWith('/')) {
    errs.push(invalid(path.child('terminationMessagePath'), c.terminationMessagePath, 'must be an absolute path'));
  }
  errs.push(...validateContainerRestartPolicy(c, path, ctx.init));
  errs.push(...validateCgroupOptions(c.securityContext, path.child('securityContext')));
  if (ctx.init && c.restartPolicy !== 'Always' && (c.resizePolicy ?? []).length > 0) {
    errs.push(forbidden(path.child('resizePolicy'), 'must not be set for init containers'));
  } else {
    errs.push(...validateResizePolicy(c.resizePolicy ?? [], path.child('resizePolicy'), ctx.podRestartPolicy));
  }
  if (ctx.init && c.restartPolicy !== 'Always') {
    // Init containers run to completion: probes and hooks have nothing to watch (sidecars do, KEP-753).
    for (const f of ['livenessProbe', 'readinessProbe', 'startupProbe', 'lifecycle'] as const) {
      if (c[f]) errs.push(forbidden(path.child(f), 'may not be set for init containers without restartPolicy=Always'));
    }
    return errs;
  }
  errs.push(...validateLifecycle(c.lifecycle, path.child('lifecycle'), ctx.gracePeriod, ctx.os));
  errs.push(...validateProbe(c.livenessProbe, path.child('livenessProbe')));
  errs.push(...validateProbe(c.readinessProbe, path.child('readinessProbe')));
  errs.push(...validateProbe(c.startupProbe, path.child('startupProbe')));
  for (const f of ['livenessProbe', 'startupProbe'] as const) {
    const st = c[f]?.successThreshold;
    if (c[f] && st !== undefined && st !== 1) errs.push(invalid(path.child(f, 'successThreshold'), st, 'must be 1'));
  }
  const rtg = c.readinessProbe?.terminationGracePeriodSeconds;
  if (rtg !== undefined && rtg !== null) {
    errs.push(invalid(path.child('readinessProbe', 'terminationGracePeriodSeconds'), rtg, 'must not be set for readinessProbes'));
  }
  return errs;
}

/** Host ports are unique per protocol and host IP across the pod's containers. */
function validateHostPorts(spec: PodSpec, path: Path): Cause[] {
  const errs: Cause[] = [];
  const seen = new Set<string>();
  (spec.containers ?? []).forEach((c, ci) => {
    (c.ports ?? []).forEach((port, pi) => {
      if (!port.hostPort) return;
      const key = `${port.protocol ?? ''}/${port.hostIP ?? ''}/${port.hostPort}`;
      if (seen.has(key)) errs.push(duplicate(path.index(ci).child('ports').index(pi).child('hostPort'), key));
      seen.add(key);
    });
  });
  return errs;
}

function validateHostNetwork(spec: PodSpec, path: Path): Cause[] {
  if (!spec.hostNetwork) return [];
  const errs: Cause[] = [];
  const check = (list: readonly Container[] | undefined, p: Path): void => {
    (list ?? []).forEach((c, ci) => {
      (c.ports ?? []).forEach((port, pi) => {
        if ((port.hostPort ?? 0) !== (port.containerPort ?? 0)) {
          errs.push(
            invalid(p.index(ci).child('ports').index(pi).child('containerPort'), port.containerPort ?? 0, 'must match `hostPort` when `hostNetwork` is true'),
          );
        }
      });
    });
  };
  check(spec.initContainers, path.child('initContainers'));
  check(spec.containers, path.child('containers'));
  return errs;
}

/** The operators Kubernetes lists in its "supported values" message, in its order. */
const TOLERATION_OPERATORS = ['Equal', 'Exists', 'Gt', 'Lt'];

export function validateTolerations(tolerations: readonly Toleration[], path: Path): Cause[] {
  const errs: Cause[] = [];
  tolerations.forEach((t, i) => {
    const p = path.index(i);
    const key = t.key ?? '';
    const op = t.operator ?? '';
    if (key) errs.push(...invalidEach(p.child('key'), key, isQualifiedName(key)));
    if (!key && op !== 'Exists') {
      errs.push(invalid(p.child('operator'), op, 'operator must be Exists when `key` is empty, which means "match all values and all keys"'));
    }
    if (t.tolerationSeconds !== undefined && t.tolerationSeconds !== null && t.effect !== 'NoExecute') {
      errs.push(invalid(p.child('effect'), t.effect ?? '', "effect must be 'NoExecute' when `tolerationSeconds` is set"));
    }
    if (op === 'Equal' || op === '') {
      const msgs = validateLabelValue(t.value ?? '');
      if (msgs.length > 0) errs.push(invalid(p.child('operator'), t.value ?? '', msgs.join(';')));
    } else if (op === 'Exists') {
      if (t.value) errs.push(invalid(p.child('operator'), t, "value must be empty when `operator` is 'Exists'"));
    } else if (op === 'Gt' || op === 'Lt') {
      // KEP-5471 threshold operators: the value is compared as an int64.
      const msgs = decimalIntegerErrors(t.value ?? '');
      if (msgs.length > 0) errs.push(invalid(p.child('value'), t.value ?? '', msgs.join('; ')));
    } else {
      errs.push(notSupported(p.child('operator'), op, TOLERATION_OPERATORS));
    }
    errs.push(...validateTaintEffect(t.effect, true, p.child('effect')));
  });
  return errs;
}

/** Kubernetes' ValidatePodSpec. */
export function validatePodSpec(spec: PodSpec | undefined, path: Path): Cause[] {
  const s = spec ?? {};
  const errs: Cause[] = [];
  const volumes = validateVolumes(s.volumes ?? [], path.child('volumes'), errs);
  const containers = s.containers ?? [];
  const initContainers = s.initContainers ?? [];
  const containerNames = new Set([...initContainers, ...containers].map((c) => c.name ?? '').filter((n) => n !== ''));
  if (containers.length === 0) errs.push(required(path.child('containers')));
  // One namespace of names for init and regular containers.
  const seen = new Set<string>();
  const each = (list: readonly Container[], p: Path, init: boolean): void => {
    list.forEach((c, i) => {
      const cp = p.index(i);
      errs.push(
        ...validateContainer(c, cp, {
          volumes,
          containerNames,
          init,
          gracePeriod: s.terminationGracePeriodSeconds ?? undefined,
          podRestartPolicy: s.restartPolicy,
          os: s.os?.name,
        }),
      );
      const name = c.name ?? '';
      if (name && seen.has(name)) errs.push(duplicate(cp.child('name'), name));
      seen.add(name);
    });
  };
  each(initContainers, path.child('initContainers'), true);
  each(containers, path.child('containers'), false);
  errs.push(...validateHostPorts(s, path.child('containers')));
  errs.push(...validateHostNetwork(s, path));
  errs.push(...validatePodSecurityContext(s, path));
  errs.push(...validateEnum(s.restartPolicy, RESTART_POLICIES, path.child('restartPolicy')));
  errs.push(...validateEnum(s.dnsPolicy, DNS_POLICIES, path.child('dnsPolicy')));
  errs.push(...validatePodDNSConfig(s.dnsConfig, s.dnsPolicy, path.child('dnsConfig')));
  errs.push(...validateHostAliases(s.hostAliases ?? [], path.child('hostAliases')));
  errs.push(...validateLabels(s.nodeSelector, path.child('nodeSelector')));
  if (s.nodeName) errs.push(...invalidEach(path.child('nodeName'), s.nodeName, isDNS1123Subdomain(s.nodeName)));
  if (s.serviceAccountName) {
    errs.push(...invalidEach(path.child('serviceAccountName'), s.serviceAccountName, isDNS1123Subdomain(s.serviceAccountName)));
  }
  if (s.hostname) errs.push(...invalidEach(path.child('hostname'), s.hostname, isDNS1123Label(s.hostname)));
  if (s.subdomain) errs.push(...invalidEach(path.child('subdomain'), s.subdomain, isDNS1123Label(s.subdomain)));
  if (s.schedulerName) errs.push(...invalidEach(path.child('schedulerName'), s.schedulerName, isDNS1123Subdomain(s.schedulerName)));
  const tgps = s.terminationGracePeriodSeconds;
  if (tgps !== undefined && tgps !== null && tgps < 0) errs.push(invalid(path.child('terminationGracePeriodSeconds'), tgps, NONNEGATIVE_MSG));
  const ads = s.activeDeadlineSeconds;
  if (ads !== undefined && ads !== null && (ads < 1 || ads > MAX_INT32)) {
    errs.push(invalid(path.child('activeDeadlineSeconds'), ads, inclusiveRangeError(1, MAX_INT32)));
  }
  errs.push(...validateTolerations(s.tolerations ?? [], path.child('tolerations')));
  errs.push(...validateAffinity(s.affinity, path.child('affinity')));
  errs.push(...validateTopologySpreadConstraints(s.topologySpreadConstraints ?? [], path.child('topologySpreadConstraints')));
  errs.push(...validateSchedulingGates(s.schedulingGates ?? [], path.child('schedulingGates')));
  errs.push(...validatePodResources(s, path.child('resources')));
  errs.push(...validatePodSpecOS(s, path));
  return errs;
}

/** Kubernetes' OS rules of ValidatePodSpec: spec.os, the fields that OS forbids, and the Windows options. */
function validatePodSpecOS(s: PodSpec, path: Path): Cause[] {
  const errs = validateAllWindowsOptions(s, path);
  errs.push(...validateWindowsHostProcessPod(s, path));
  if (!s.os) return errs;
  const osErrs = validateOS(s, path.child('os'));
  if (osErrs.length > 0) return [...errs, ...osErrs];
  if (s.os.name === 'linux') errs.push(...validateLinux(s, path));
  else errs.push(...validateWindows(s, path));
  return errs;
}

const POD_PHASES = ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'];

/** The parts of a pod status a client may write that have a fixed form. */
function validatePodStatus(pod: Pod): Cause[] {
  const st = pod.status;
  if (!st) return [];
  const errs: Cause[] = [];
  const p = Path.root('status');
  if (st.phase && !has(POD_PHASES, st.phase)) errs.push(notSupported(p.child('phase'), st.phase, POD_PHASES));
  if (st.podIP) errs.push(...invalidEach(p.child('podIP'), st.podIP, isValidIP(st.podIP)));
  if (st.hostIP) errs.push(...invalidEach(p.child('hostIP'), st.hostIP, isValidIP(st.hostIP)));
  (st.podIPs ?? []).forEach((ip, i) => errs.push(...invalidEach(p.child('podIPs').index(i).child('ip'), ip.ip ?? '', isValidIP(ip.ip ?? ''))));
  if (st.nominatedNodeName) {
    errs.push(...invalidEach(p.child('nominatedNodeName'), st.nominatedNodeName, isDNS1123Subdomain(st.nominatedNodeName)));
  }
  return errs;
}

export function validatePod(pod: Pod): Cause[] {
  return [
    ...validateObjectMeta(pod.metadata, true, nameIsDNSSubdomain, Path.root('metadata')),
    ...validatePodSpec(pod.spec, Path.root('spec')),
    ...validateGatedNodeName(pod.spec?.schedulingGates ?? [], pod.spec?.nodeName, Path.root('spec', 'nodeName')),
    ...validatePodStatus(pod),
  ];
}

/** A pod template's labels, annotations and spec (ValidatePodTemplateSpec). */
export function validatePodTemplateSpec(template: PodTemplateSpec, path: Path): Cause[] {
  const meta: ObjectMeta = template.metadata ?? {};
  return [
    ...validateLabels(meta.labels, path.child('labels')),
    ...validateAnnotations(meta.annotations, path.child('annotations')),
    ...validatePodSpec(template.spec, path.child('spec')),
  ];
}

export const UPDATABLE_POD_SPEC_FIELDS = [
  '`spec.containers[*].image`',
  '`spec.initContainers[*].image`',
  '`spec.activeDeadlineSeconds`',
  '`spec.tolerations` (only additions to existing tolerations)',
  '`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
];

function tolerationKey(t: Toleration): string {
  return JSON.stringify([t.key ?? '', t.operator ?? '', t.value ?? '', t.effect ?? '']);
}

/** Existing tolerations stay (only their tolerationSeconds may change); new ones may be added. */
function validateOnlyAddedTolerations(next: readonly Toleration[], old: readonly Toleration[], path: Path): Cause[] {
  const have = new Set(next.map(tolerationKey));
  for (const o of old) {
    if (!have.has(tolerationKey(o))) return [forbidden(path, 'existing toleration can not be modified except its tolerationSeconds')];
  }
  return [];
}

function validateActiveDeadlineUpdate(next: number | undefined, old: number | undefined, path: Path): Cause[] {
  if (next !== undefined && next !== null) {
    if (next < 0 || next > MAX_INT32) return [invalid(path, next, inclusiveRangeError(0, MAX_INT32))];
    if (old !== undefined && old !== null && old < next) return [invalid(path, next, 'must be less than or equal to previous value')];
    return [];
  }
  if (old !== undefined && old !== null) return [invalid(path, null, 'must not update from a positive integer to nil value')];
  return [];
}

/**
 * The spec with the fields an update may change replaced by the old values;
 * anything still different is a forbidden change.
 */
function mungedSpec(next: PodSpec, old: PodSpec): PodSpec {
  const oldContainers = old.containers ?? [];
  const oldInit = old.initContainers ?? [];
  const munged: PodSpec = {
    ...next,
    containers: (next.containers ?? []).map((c, i) => (i < oldContainers.length ? { ...c, image: oldContainers[i]!.image } : c)),
    initContainers: (next.initContainers ?? []).map((c, i) => (i < oldInit.length ? { ...c, image: oldInit[i]!.image } : c)),
    activeDeadlineSeconds: old.activeDeadlineSeconds,
    tolerations: old.tolerations,
    schedulingGates: old.schedulingGates,
  };
  const oldGrace = old.terminationGracePeriodSeconds;
  if (oldGrace !== undefined && oldGrace !== null && oldGrace < 0 && munged.terminationGracePeriodSeconds === 1) {
    munged.terminationGracePeriodSeconds = oldGrace;
  }
  return munged;
}

/** Kubernetes' ValidatePodUpdate: metadata rules plus the immutable spec. */
export function validatePodUpdate(pod: Pod, old: Pod): Cause[] {
  const specPath = Path.root('spec');
  const next = pod.spec ?? {};
  const prev = old.spec ?? {};
  const errs: Cause[] = [
    ...validateObjectMetaUpdate(pod.metadata, old.metadata, Path.root('metadata')),
    ...validatePodSpec(pod.spec, specPath),
    ...validatePodStatus(pod),
  ];
  errs.push(...validateActiveDeadlineUpdate(next.activeDeadlineSeconds, prev.activeDeadlineSeconds, specPath.child('activeDeadlineSeconds')));
  errs.push(...validateOnlyAddedTolerations(next.tolerations ?? [], prev.tolerations ?? [], specPath.child('tolerations')));
  errs.push(...validateOnlyDeletedSchedulingGates(next.schedulingGates ?? [], prev.schedulingGates ?? [], specPath.child('schedulingGates')));
  const diff = semanticDiff(prev, mungedSpec(next, prev), 'spec');
  if (diff.length > 0) {
    errs.push(forbidden(specPath, `pod updates may not change fields other than ${UPDATABLE_POD_SPEC_FIELDS.join(',')}\nchanged: ${diff.join(', ')}`));
  }
  return errs;
}
