// From a pod's container spec to the runtime's ContainerConfig (Kubernetes'
// kuberuntime generateContainerConfig): command and args with $(VAR)
// expansion, the environment (values and the simple downward-API fields),
// working dir, resources, volume mounts and the securityContext
// (security-context.ts: user, runAsNonRoot, capabilities, seccomp, OOM
// score). Pure but for the node's memory size when the caller gives none:
// paths come from the caller, errors are ContainerConfigError (the
// CreateContainerConfigError reason) naming the field.

import * as os from 'node:os';
import type { Container, EnvVar, Pod, VolumeMount } from '../api/gen/tsk/v1/core';
import { isPodLevelResourcesSet, podPidsLimit } from '../api/pod-resources';
import { parseQuantity } from '../api/quantity';
import { ANNOTATION_GRACE_PERIOD, ANNOTATION_RESTART_COUNT, LABEL_CONTAINER_NAME, LABEL_POD_NAME, LABEL_POD_NAMESPACE, LABEL_POD_UID } from './pod-runtime';
import type { ContainerConfig, ContainerResources, ContainerSecurity, Mount } from './runtime/runtime';
import { containerSecurity, effectiveSecurity, runtimeUser, verifyRunAsNonRoot } from './security-context';
import { mountSubPath } from './subpath';
import { isReadOnlyVolume, volumeHostPath } from './volumes';
import { errorMessage } from '../util/errors';
import { limitDefaults, podMetadataField, resourceFieldValue, type NodeAllocatable } from './downward-api';
import { envFromVars, keyRefValue, serviceEnvMap, type EnvObjects } from './env';

export class ContainerConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ContainerConfigError';
  }
}

export interface ConfigContext {
  /** The kubelet's data dir (emptyDir volumes live under it). */
  dataDir: string;
  /** The node's IP (status.hostIP), "" when unknown. */
  hostIP: string;
  /** The pod's IP (status.podIP), "" when it has none. */
  podIP: string;
  restartCount: number;
  /** The image's User ("" is root), for runAsNonRoot and runAsGroup; "" when unknown. */
  imageUser?: string;
  /** The node's memory (the Burstable OOM score); defaults to this machine's. */
  nodeMemoryBytes?: number;
  /** resourceFieldRef of an unset limit; defaults to this machine's CPUs and memory. */
  nodeAllocatable?: NodeAllocatable;
  /** The Services, ConfigMaps and Secrets the environment reads (none when absent). */
  objects?: EnvObjects;
  /** A warning event about the container (reason, message): skipped envFrom keys. */
  warn?: (reason: string, message: string) => void;
}

/** The value of a fieldRef the kubelet can resolve, or undefined. */
function fieldRefValue(pod: Pod, path: string, ctx: ConfigContext): string | undefined {
  const common = podMetadataField(pod, path);
  if (common !== undefined) return common;
  switch (path) {
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.podIP':
      return ctx.podIP;
    case 'status.hostIP':
      return ctx.hostIP;
    default:
      return undefined;
  }
}

/**
 * Kubernetes' $(VAR) expansion: a reference to a defined variable is
 * replaced, $$ is a literal $, anything else is left as written.
 */
export function expandVars(input: string, vars: ReadonlyMap<string, string>): string {
  return expandVarsWith(input, (name) => vars.get(name));
}

/** expandVars with a lookup function (undefined: not defined). */
function expandVarsWith(input: string, lookup: (name: string) => string | undefined): string {
  return input.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (whole, name: string | undefined) => {
    if (whole === '$$') return '$';
    return (name !== undefined ? lookup(name) : undefined) ?? whole;
  });
}

function envValue(pod: Pod, c: Container, e: EnvVar, vars: (name: string) => string | undefined, ctx: ConfigContext): string | undefined {
  const container = c.name ?? '';
  if (e.valueFrom?.fieldRef) {
    const path = e.valueFrom.fieldRef.fieldPath ?? '';
    const v = fieldRefValue(pod, path, ctx);
    if (v === undefined) throw new ContainerConfigError(`container "${container}": env ${e.name ?? ''}: fieldRef ${path} is not supported`);
    return v;
  }
  if (e.valueFrom?.resourceFieldRef) {
    const sel = e.valueFrom.resourceFieldRef;
    const target = sel.containerName ? [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find((x) => x.name === sel.containerName) : c;
    if (!target) throw new ContainerConfigError(`container "${container}": env ${e.name ?? ''}: resourceFieldRef: no container "${sel.containerName ?? ''}"`);
    try {
      return resourceFieldValue(target, sel, limitDefaults(pod, ctx.nodeAllocatable ?? { cpuMilli: os.cpus().length * 1000, memoryBytes: os.totalmem() }));
    } catch (err) {
      throw new ContainerConfigError(`container "${container}": env ${e.name ?? ''}: ${errorMessage(err)}`);
    }
  }
  if (e.valueFrom?.configMapKeyRef || e.valueFrom?.secretKeyRef) {
    try {
      return keyRefValue(pod, e, ctx.objects ?? NO_OBJECTS);
    } catch (err) {
      throw new ContainerConfigError(errorMessage(err));
    }
  }
  return expandVarsWith(e.value ?? '', vars);
}

const NO_OBJECTS: EnvObjects = { services: [], configMaps: new Map(), secrets: new Map() };

/**
 * The container's environment as Kubernetes' makeEnvironmentVariables: envFrom
 * first, then env (later definitions winning; $(VAR) in a value sees the
 * variables before it and the Service variables), then the Service variables
 * no other definition took. Invalid envFrom keys are reported to ctx.warn.
 */
export function buildEnv(pod: Pod, c: Container, ctx: ConfigContext): { env: string[]; vars: Map<string, string> } {
  const objects = ctx.objects ?? NO_OBJECTS;
  const services = serviceEnvMap(pod, objects.services);
  let from;
  try {
    from = envFromVars(pod, c, objects);
  } catch (err) {
    throw new ContainerConfigError(errorMessage(err));
  }
  for (const w of from.warnings) ctx.warn?.('InvalidEnvironmentVariableNames', w);
  const vars = from.vars;
  const lookup = (name: string): string | undefined => vars.get(name) ?? services.get(name);
  for (const e of c.env ?? []) {
    if (!e.name) continue;
    const v = envValue(pod, c, e, lookup, ctx);
    if (v !== undefined) vars.set(e.name, v);
  }
  for (const [k, v] of services) if (!vars.has(k)) vars.set(k, v);
  return { env: [...vars].map(([k, v]) => `${k}=${v}`), vars };
}

function quantity(container: string, field: string, value: string): ReturnType<typeof parseQuantity> {
  try {
    return parseQuantity(value);
  } catch (err) {
    throw new ContainerConfigError(`container "${container}": ${field} "${value}": ${errorMessage(err)}`);
  }
}

/** requests.cpu -> cpu shares, limits.cpu -> CFS quota, limits.memory -> memory limit (requests default to limits, as Kubernetes). */
export function buildResources(c: Container): ContainerResources {
  const name = c.name ?? '';
  const limits = c.resources?.limits ?? {};
  const requests = c.resources?.requests ?? {};
  const out: ContainerResources = {};
  const cpuReq = requests['cpu'] ?? limits['cpu'];
  if (cpuReq !== undefined) out.cpuRequestMilli = quantity(name, 'resources.requests.cpu', cpuReq).milliValue();
  if (limits['cpu'] !== undefined) out.cpuLimitMilli = quantity(name, 'resources.limits.cpu', limits['cpu']).milliValue();
  if (limits['memory'] !== undefined) out.memoryLimitBytes = quantity(name, 'resources.limits.memory', limits['memory']).value();
  return out;
}

/** The kernel's PID_MAX_LIMIT (4M on 64-bit): the largest value pids.max accepts. */
const PID_MAX_LIMIT = 4 * 1024 * 1024;

/**
 * The pod cgroup's resources from pod-level resources (spec.resources):
 * requests.cpu -> cpu shares, limits.cpu -> CFS quota, limits.memory ->
 * memory limit, as ResourceConfigForPod, and limits.pids -> pids.max
 * (KEP-6063; tsk's kubelet has no node-wide podPidsLimit, so the pod's
 * value is the effective one). Empty when the pod sets none (its
 * containers' own cgroups carry their limits).
 */
export function buildPodResources(pod: Pod): ContainerResources {
  const pids = podPidsLimit(pod.spec);
  // The kernel refuses a pids.max above PID_MAX_LIMIT; such a limit cannot bind anyway.
  return { ...buildPodComputeResources(pod), ...(pids !== undefined ? { pidsLimit: Math.min(pids, PID_MAX_LIMIT) } : {}) };
}

function buildPodComputeResources(pod: Pod): ContainerResources {
  const spec = pod.spec;
  if (!isPodLevelResourcesSet(spec)) return {};
  const limits = spec?.resources?.limits ?? {};
  const requests = spec?.resources?.requests ?? {};
  const parse = (field: string, value: string): ReturnType<typeof parseQuantity> => {
    try {
      return parseQuantity(value);
    } catch (err) {
      throw new ContainerConfigError(`spec.resources.${field} "${value}": ${errorMessage(err)}`);
    }
  };
  const out: ContainerResources = {};
  const cpuReq = requests['cpu'] ?? limits['cpu'];
  if (cpuReq !== undefined) out.cpuRequestMilli = parse('requests.cpu', cpuReq).milliValue();
  if (limits['cpu'] !== undefined) out.cpuLimitMilli = parse('limits.cpu', limits['cpu']).milliValue();
  if (limits['memory'] !== undefined) out.memoryLimitBytes = parse('limits.memory', limits['memory']).value();
  return out;
}

/**
 * The container's volumeMounts as bind mounts of the pod's volumes. A
 * subPath (or subPathExpr, expanded from vars, the container's environment)
 * goes to the runtime as Mount.subPath, which resolves it inside the volume.
 */
export function buildMounts(pod: Pod, c: Container, dataDir: string, vars: ReadonlyMap<string, string> = new Map()): Mount[] {
  const volumes = new Map((pod.spec?.volumes ?? []).map((v) => [v.name ?? '', v]));
  return (c.volumeMounts ?? []).map((vm) => {
    const v = volumes.get(vm.name ?? '');
    if (!v) throw new ContainerConfigError(`container "${c.name ?? ''}": volumeMount "${vm.name ?? ''}": no volume of that name in the pod`);
    let sub: string;
    try {
      sub = mountSubPath(vm, vars);
    } catch (err) {
      throw new ContainerConfigError(`failed to prepare subPath for volumeMount "${vm.name ?? ''}" of container "${c.name ?? ''}": ${errorMessage(err)}`);
    }
    return {
      containerPath: vm.mountPath ?? '',
      hostPath: volumeHostPath(pod, v, dataDir),
      ...(sub ? { subPath: sub } : {}),
      ...(vm.readOnly || isReadOnlyVolume(v) ? { readOnly: true } : {}),
      ...recursiveReadOnly(vm),
      // hostUsers: false: idmapped (Kubernetes' runtimes idmap every volume), but an emptyDir, owned by the pod's root (volumes.ts).
      ...(pod.spec?.hostUsers === false && !v.emptyDir ? { idmapped: true } : {}),
    };
  });
}

/** Kubernetes' recursiveReadOnly (validated: only with readOnly); Disabled or unset: nothing. */
function recursiveReadOnly(vm: VolumeMount): { recursiveReadOnly?: 'Enabled' | 'IfPossible' } {
  const mode = vm.recursiveReadOnly;
  return mode === 'Enabled' || mode === 'IfPossible' ? { recursiveReadOnly: mode } : {};
}

/** The securityContext's part of the config: the user string and ContainerSecurity. Throws ContainerConfigError. */
export function buildSecurity(pod: Pod, c: Container, ctx: ConfigContext): { user?: string; security: ContainerSecurity } {
  const imageUser = ctx.imageUser ?? '';
  const refused = verifyRunAsNonRoot(pod, c, imageUser);
  if (refused !== undefined) throw new ContainerConfigError(refused);
  let security: ContainerSecurity;
  try {
    security = containerSecurity(pod, c, ctx.nodeMemoryBytes ?? os.totalmem());
  } catch (err) {
    throw new ContainerConfigError(errorMessage(err));
  }
  const user = runtimeUser(effectiveSecurity(pod, c), imageUser);
  return { ...(user !== undefined ? { user } : {}), security };
}

/** The runtime config of container `c` of `pod`. Throws ContainerConfigError. */
export function buildContainerConfig(pod: Pod, c: Container, ctx: ConfigContext): ContainerConfig {
  const name = c.name ?? '';
  const { env, vars } = buildEnv(pod, c, ctx);
  const { user, security } = buildSecurity(pod, c, ctx);
  const config: ContainerConfig = {
    name,
    image: c.image ?? '',
    env,
    ...(user !== undefined ? { user } : {}),
    security,
    resources: buildResources(c),
    mounts: buildMounts(pod, c, ctx.dataDir, vars),
    labels: {
      [LABEL_POD_NAME]: pod.metadata?.name ?? '',
      [LABEL_POD_NAMESPACE]: pod.metadata?.namespace ?? '',
      [LABEL_POD_UID]: pod.metadata?.uid ?? '',
      [LABEL_CONTAINER_NAME]: name,
    },
    annotations: {
      [ANNOTATION_RESTART_COUNT]: String(ctx.restartCount),
      [ANNOTATION_GRACE_PERIOD]: String(pod.spec?.terminationGracePeriodSeconds ?? 30),
    },
  };
  if (c.command && c.command.length > 0) config.command = c.command.map((s) => expandVars(s, vars));
  if (c.args && c.args.length > 0) config.args = c.args.map((s) => expandVars(s, vars));
  if (c.workingDir) config.workingDir = c.workingDir;
  // stdinOnce means nothing without stdin (kuberuntime passes both to CRI; the runtime ignores the one without the other).
  if (c.stdin) config.stdin = true;
  if (c.stdin && c.stdinOnce) config.stdinOnce = true;
  if (c.tty) config.tty = true;
  return config;
}
