// Defaulting: the values Kubernetes' core/v1 SetDefaults_* functions give the
// fields a user left out, so that every stored object is complete and the
// components reading it never guess. Runs before validation on create and on
// update; idempotent (defaulting a defaulted object changes nothing).
//
// "Unset" is both undefined (objects decoded from JSON/YAML) and the proto3
// zero value ("" or 0, objects decoded from protobuf), as Kubernetes treats
// a zero value of a non-pointer field.

import { aggregateContainerRequests, isSupportedPodLevelResource } from '../api/pod-resources';
import { SECRET_TYPE_OPAQUE } from '../api/secret-types';
import type {
  ConfigMap,
  Container,
  Endpoints,
  Secret,
  Event,
  HTTPGetAction,
  Namespace,
  Node,
  Pod,
  PodSpec,
  Probe,
  ReplicationController,
  Service,
  Volume,
} from '../api/gen/tsk/v1/core';
import type { KindName, KindObjects } from '../api/kinds';
import { addDefaultTolerations } from './default-tolerations';

export const DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS = 30;
export const DEFAULT_SCHEDULER_NAME = 'default-scheduler';
export const DEFAULT_TERMINATION_MESSAGE_PATH = '/dev/termination-log';
/** Kubernetes' default ClientIP session affinity timeout (3 hours). */
export const DEFAULT_CLIENT_IP_TIMEOUT_SECONDS = 10800;
/** The label Kubernetes puts on every namespace, holding its name. */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/**
 * The tag of an image reference ("latest" when it has neither tag nor
 * digest, "" when it has only a digest), as Kubernetes' parsers.ParseImageName.
 * A port in the registry host ("registry:5000/app") is not a tag.
 */
export function imageTag(image: string): string {
  const at = image.indexOf('@');
  const withoutDigest = at >= 0 ? image.slice(0, at) : image;
  const lastSlash = withoutDigest.lastIndexOf('/');
  const lastPart = withoutDigest.slice(lastSlash + 1);
  const colon = lastPart.lastIndexOf(':');
  if (colon >= 0) return lastPart.slice(colon + 1);
  return at >= 0 ? '' : 'latest';
}

/** Always for `:latest` or an untagged image without digest, else IfNotPresent. */
export function defaultPullPolicy(image: string): string {
  return imageTag(image) === 'latest' ? 'Always' : 'IfNotPresent';
}

function defaultProbe(probe: Probe | undefined): void {
  if (!probe) return;
  if (!probe.timeoutSeconds) probe.timeoutSeconds = 1;
  if (!probe.periodSeconds) probe.periodSeconds = 10;
  if (!probe.successThreshold) probe.successThreshold = 1;
  if (!probe.failureThreshold) probe.failureThreshold = 3;
  defaultHTTPGet(probe.httpGet);
}

/** Kubernetes' SetDefaults_HTTPGetAction: path "/" and scheme HTTP, for probes and lifecycle hooks alike. */
function defaultHTTPGet(http: HTTPGetAction | undefined): void {
  if (!http) return;
  if (!http.path) http.path = '/';
  if (!http.scheme) http.scheme = 'HTTP';
}

function defaultContainer(c: Container, hostNetwork: boolean): void {
  if (!c.imagePullPolicy) c.imagePullPolicy = defaultPullPolicy(c.image ?? '');
  if (!c.terminationMessagePath) c.terminationMessagePath = DEFAULT_TERMINATION_MESSAGE_PATH;
  const cgroup = c.securityContext?.cgroupOptions;
  if (cgroup && !cgroup.mountMode) cgroup.mountMode = 'ReadOnly';
  for (const p of c.ports ?? []) {
    if (!p.protocol) p.protocol = 'TCP';
    // With the host's network a container port is a host port.
    if (hostNetwork && !p.hostPort && p.containerPort) p.hostPort = p.containerPort;
  }
  for (const e of c.env ?? []) {
    const ref = e.valueFrom?.fieldRef;
    if (ref && !ref.apiVersion) ref.apiVersion = 'v1';
  }
  defaultProbe(c.livenessProbe);
  defaultProbe(c.readinessProbe);
  defaultProbe(c.startupProbe);
  defaultHTTPGet(c.lifecycle?.postStart?.httpGet);
  defaultHTTPGet(c.lifecycle?.preStop?.httpGet);
}

/** Kubernetes' SetDefaults_PodSpec and what it cascades to (containers, probes, volumes). */
export function defaultPodSpec(spec: PodSpec): void {
  if (!spec.dnsPolicy) spec.dnsPolicy = 'ClusterFirst';
  if (!spec.restartPolicy) spec.restartPolicy = 'Always';
  if (spec.terminationGracePeriodSeconds === undefined || spec.terminationGracePeriodSeconds === null) {
    spec.terminationGracePeriodSeconds = DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS;
  }
  if (!spec.schedulerName) spec.schedulerName = DEFAULT_SCHEDULER_NAME;
  const hostNetwork = spec.hostNetwork === true;
  for (const c of spec.initContainers ?? []) defaultContainer(c, hostNetwork);
  for (const c of spec.containers ?? []) defaultContainer(c, hostNetwork);
  for (const v of spec.volumes ?? []) defaultVolume(v);
}

/** Kubernetes' default file mode of configMap, secret, downwardAPI and projected volumes (0644). */
const DEFAULT_VOLUME_MODE = 0o644;

/** SetDefaults_Volume and the *VolumeSource defaults: a sourceless volume is an emptyDir; API-data volumes get defaultMode 0644. */
function defaultVolume(v: Volume): void {
  if (!v.emptyDir && !v.hostPath && !v.configMap && !v.secret && !v.downwardAPI && !v.projected && !v.image) v.emptyDir = {};
  // SetDefaults_ImageVolumeSource: the pull policy a container with this image would get.
  if (v.image && !v.image.pullPolicy) v.image.pullPolicy = defaultPullPolicy(v.image.reference ?? '');
  for (const source of [v.configMap, v.secret, v.downwardAPI, v.projected]) {
    if (source && source.defaultMode === undefined) source.defaultMode = DEFAULT_VOLUME_MODE;
  }
  const files = [...(v.downwardAPI?.items ?? []), ...(v.projected?.sources ?? []).flatMap((s) => s.downwardAPI?.items ?? [])];
  for (const f of files) if (f.fieldRef && !f.fieldRef.apiVersion) f.fieldRef.apiVersion = 'v1';
}

/** Requests default to limits for resources with a limit and no request (SetDefaults_Pod). */
function defaultRequestsFromLimits(c: Container): void {
  const limits = c.resources?.limits;
  if (!limits || Object.keys(limits).length === 0) return;
  const requests = (c.resources!.requests ??= {});
  for (const [name, value] of Object.entries(limits)) {
    if (!Object.prototype.hasOwnProperty.call(requests, name)) requests[name] = value;
  }
}

function defaultPod(pod: Pod): void {
  const spec = (pod.spec ??= {});
  defaultPodSpec(spec);
  // Admission, not defaulting, in Kubernetes (DefaultTolerationSeconds); for
  // pods only, not templates, on create and update alike.
  addDefaultTolerations(spec);
  for (const c of spec.initContainers ?? []) defaultRequestsFromLimits(c);
  for (const c of spec.containers ?? []) defaultRequestsFromLimits(c);
  defaultPodRequests(spec);
  // Regular containers and sidecars can be resized in place; plain init containers cannot.
  for (const c of spec.containers ?? []) defaultResizePolicy(c);
  for (const c of spec.initContainers ?? []) if (c.restartPolicy === 'Always') defaultResizePolicy(c);
}

/**
 * Kubernetes' setDefaultResizePolicy (InPlacePodVerticalScaling): cpu and
 * memory, when the container requests or limits them and names no policy of
 * its own for them, get restartPolicy NotRequired.
 */
function defaultResizePolicy(c: Container): void {
  const requests = c.resources?.requests ?? {};
  const limits = c.resources?.limits ?? {};
  const named = new Set((c.resizePolicy ?? []).map((p) => p.resourceName));
  for (const resourceName of ['cpu', 'memory']) {
    if (named.has(resourceName) || (requests[resourceName] === undefined && limits[resourceName] === undefined)) continue;
    (c.resizePolicy ??= []).push({ resourceName, restartPolicy: 'NotRequired' });
  }
}

/**
 * Kubernetes' defaultPodRequests (PodLevelResources), only when pod-level
 * limits are set: a pod-level request left unset becomes the containers'
 * aggregate request for cpu and memory when containers ask for it, else the
 * pod-level limit. Runs after the containers' requests defaulted from their
 * limits, as in SetDefaults_Pod.
 */
function defaultPodRequests(spec: PodSpec): void {
  const res = spec.resources;
  if (!res?.limits || Object.keys(res.limits).length === 0) return;
  const requests: Record<string, string> = { ...res.requests };
  const has = (name: string): boolean => Object.prototype.hasOwnProperty.call(requests, name);
  for (const [name, aggr] of aggregateContainerRequests(spec)) {
    // Overcommittable pod-level resources only: hugepages requests must equal their limits.
    if (!has(name) && isSupportedPodLevelResource(name) && !name.startsWith('hugepages-')) requests[name] = aggr.toString();
  }
  for (const [name, limit] of Object.entries(res.limits)) {
    if (!has(name) && isSupportedPodLevelResource(name)) requests[name] = limit;
  }
  if (Object.keys(requests).length > 0) res.requests = requests;
}

function defaultReplicationController(rc: ReplicationController): void {
  const spec = (rc.spec ??= {});
  const templateLabels = spec.template?.metadata?.labels;
  if (templateLabels && Object.keys(templateLabels).length > 0) {
    if (!spec.selector || Object.keys(spec.selector).length === 0) spec.selector = { ...templateLabels };
    const meta = (rc.metadata ??= {});
    if (!meta.labels || Object.keys(meta.labels).length === 0) meta.labels = { ...templateLabels };
  }
  if (spec.replicas === undefined || spec.replicas === null) spec.replicas = 1;
  if (spec.template) defaultPodSpec((spec.template.spec ??= {}));
}

/** An unset IntOrString: no value of either kind. */
function isUnsetIntOrString(v: { type?: number | undefined; intVal?: number | undefined; strVal?: string | undefined } | undefined): boolean {
  return !v || (v.type === 1 ? !v.strVal : !v.intVal);
}

function defaultService(svc: Service): void {
  const spec = (svc.spec ??= {});
  if (!spec.sessionAffinity) spec.sessionAffinity = 'None';
  if (spec.sessionAffinity === 'ClientIP') {
    const cfg = (spec.sessionAffinityConfig ??= {});
    const clientIP = (cfg.clientIP ??= {});
    if (!clientIP.timeoutSeconds) clientIP.timeoutSeconds = DEFAULT_CLIENT_IP_TIMEOUT_SECONDS;
  }
  if (!spec.type) spec.type = 'ClusterIP';
  for (const p of spec.ports ?? []) {
    if (!p.protocol) p.protocol = 'TCP';
    if (isUnsetIntOrString(p.targetPort)) p.targetPort = { type: 0, intVal: p.port ?? 0 };
  }
  const external = spec.type === 'NodePort' || spec.type === 'LoadBalancer';
  if (external && !spec.externalTrafficPolicy) spec.externalTrafficPolicy = 'Cluster';
  if (spec.type !== 'ExternalName' && !spec.internalTrafficPolicy) spec.internalTrafficPolicy = 'Cluster';
  if (spec.type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts === undefined) spec.allocateLoadBalancerNodePorts = true;
}

function defaultEndpoints(ep: Endpoints): void {
  for (const s of ep.subsets ?? []) {
    for (const p of s.ports ?? []) if (!p.protocol) p.protocol = 'TCP';
  }
}

function defaultNode(node: Node): void {
  const status = node.status;
  // Allocatable defaults to capacity (SetDefaults_NodeStatus).
  if (status?.capacity && Object.keys(status.capacity).length > 0) {
    if (!status.allocatable || Object.keys(status.allocatable).length === 0) status.allocatable = { ...status.capacity };
  }
}

function defaultNamespace(ns: Namespace): void {
  const status = (ns.status ??= {});
  if (!status.phase) status.phase = 'Active';
  const name = ns.metadata?.name;
  if (name) {
    const meta = ns.metadata!;
    meta.labels = { ...meta.labels, [NAMESPACE_NAME_LABEL]: name };
  }
}

function defaultEvent(ev: Event): void {
  if (!ev.type) ev.type = 'Normal';
  if (!ev.count) ev.count = 1;
}

/**
 * stringData is write-only: its keys are merged into data, overriding it,
 * and the field is dropped (what Kubernetes' v1 conversion does).
 */
function defaultSecret(secret: Secret): void {
  if (!secret.type) secret.type = SECRET_TYPE_OPAQUE;
  const strings = secret.stringData;
  if (strings && Object.keys(strings).length > 0) {
    const data = (secret.data ??= {});
    for (const [k, v] of Object.entries(strings)) data[k] = Buffer.from(v, 'utf8');
  }
  delete secret.stringData;
}

function defaultConfigMap(_cm: ConfigMap): void {
  // ConfigMaps have no defaults.
}

const DEFAULTERS: { readonly [K in KindName]: (obj: KindObjects[K]) => void } = {
  Pod: defaultPod,
  ReplicationController: defaultReplicationController,
  Service: defaultService,
  Endpoints: defaultEndpoints,
  Node: defaultNode,
  Namespace: defaultNamespace,
  Event: defaultEvent,
  ConfigMap: defaultConfigMap,
  Secret: defaultSecret,
  // coordination/v1 has no defaults for Leases.
  Lease: () => undefined,
};

/**
 * Fills in the defaults of an object of the given kind, in place, as
 * Kubernetes' defaulting for core/v1 does. Idempotent; never overwrites a
 * value the user set.
 */
export function applyDefaults<K extends KindName>(kind: K, obj: KindObjects[K]): void {
  (DEFAULTERS[kind] as (o: KindObjects[K]) => void)(obj);
}
