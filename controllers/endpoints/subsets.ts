// What a Service's Endpoints should hold, as a pure function of the service
// and its namespace's pods (Kubernetes' endpoints controller and
// endpoints.RepackSubsets): every selected pod with an IP that is neither
// terminating nor finished, ready ones in addresses and the others in
// notReadyAddresses, grouped into subsets by the port numbers they resolve
// the service's ports to. Output is sorted, so equal inputs give equal
// subsets whatever the order of the cache.

import type { EndpointAddress, EndpointPort, EndpointSubset, Pod, Service, ServicePort } from '../../api/gen/tsk/v1/core';
import { selectorFromSet } from '../../api/labels';

/** The label Kubernetes puts on the Endpoints of a headless service. */
export const HEADLESS_LABEL = 'service.kubernetes.io/headless';

/** Whether the pod's Ready condition is True. */
export function isPodReady(pod: Pod): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/**
 * Kubernetes' ShouldPodBeInEndpoints: an IP, not finished, not being
 * deleted (unless `includeTerminating`: a service that publishes not-ready
 * addresses lists terminating pods too).
 */
export function shouldPodBeInEndpoints(pod: Pod, includeTerminating = false): boolean {
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return false;
  if (!pod.status?.podIP) return false;
  return includeTerminating || !pod.metadata?.deletionTimestamp;
}

/**
 * Everything of a pod that its Endpoints entries depend on, as one string:
 * a pod update that leaves it equal (a kubelet's status heartbeat) changes
 * no Endpoints.
 */
export function endpointsRelevantState(pod: Pod): string {
  return JSON.stringify([
    pod.metadata?.labels ?? {},
    pod.status?.podIP ?? '',
    isPodReady(pod),
    shouldPodBeInEndpoints(pod),
    !!pod.metadata?.deletionTimestamp,
    pod.spec?.nodeName ?? '',
    pod.spec?.hostname ?? '',
    pod.spec?.subdomain ?? '',
    (pod.spec?.containers ?? []).map((c) => (c.ports ?? []).map((p) => [p.name ?? '', p.containerPort ?? 0, p.protocol || 'TCP'])),
  ]);
}

/** Whether the service has a selector (services without one have user-managed Endpoints). */
export function hasSelector(service: Service): boolean {
  return Object.keys(service.spec?.selector ?? {}).length > 0;
}

/**
 * The parsed selector of each Service object, built once: every pod event
 * checks every Service of its namespace (cached objects are never mutated).
 */
const selectors = new WeakMap<Service, ReturnType<typeof selectorFromSet>>();

function selectorOf(service: Service): ReturnType<typeof selectorFromSet> {
  let s = selectors.get(service);
  if (!s) {
    s = selectorFromSet(service.spec?.selector);
    selectors.set(service, s);
  }
  return s;
}

/** The pods of `pods` that the service's selector selects (same namespace). */
export function selectedPods(service: Service, pods: readonly Pod[]): Pod[] {
  if (!hasSelector(service)) return [];
  const selector = selectorOf(service);
  const ns = service.metadata?.namespace ?? '';
  return pods.filter((p) => (p.metadata?.namespace ?? '') === ns && selector.matches(p.metadata?.labels));
}

/**
 * The container port a service port targets on this pod (Kubernetes'
 * podutil.FindPort): a number as is, a name looked up among the containers'
 * ports of the same protocol; undefined when the pod has no such port.
 */
export function resolveTargetPort(pod: Pod, port: ServicePort): number | undefined {
  const target = port.targetPort;
  const isName = target?.type === 1;
  if (!isName) {
    const n = target?.intVal || port.port || 0;
    return n > 0 ? n : undefined;
  }
  const name = target?.strVal ?? '';
  const protocol = port.protocol || 'TCP';
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) {
      if (p.name === name && (p.protocol || 'TCP') === protocol && p.containerPort) return p.containerPort;
    }
  }
  return undefined;
}

function isHeadless(service: Service): boolean {
  return service.spec?.clusterIP === 'None';
}

/** The address of a pod, with hostname when the pod asks for it under a headless service (DNS A records). */
function addressOf(pod: Pod, service: Service): EndpointAddress {
  const m = pod.metadata;
  const addr: EndpointAddress = {
    ip: pod.status?.podIP ?? '',
    nodeName: pod.spec?.nodeName ?? '',
    targetRef: { kind: 'Pod', namespace: m?.namespace ?? '', name: m?.name ?? '', uid: m?.uid ?? '' },
  };
  const hostname = pod.spec?.hostname;
  if (hostname && isHeadless(service) && pod.spec?.subdomain === service.metadata?.name) addr.hostname = hostname;
  return addr;
}

/** The subsets for a service and the pods it selects, repacked and sorted. */
export function computeSubsets(service: Service, pods: readonly Pod[]): EndpointSubset[] {
  const raw: EndpointSubset[] = [];
  const ports = service.spec?.ports ?? [];
  // Kubernetes' tolerateUnreadyEndpoints: every pod listed as ready (DNS of StatefulSet peers).
  const publishNotReady = service.spec?.publishNotReadyAddresses === true;
  for (const pod of selectedPods(service, pods)) {
    if (!shouldPodBeInEndpoints(pod, publishNotReady)) continue;
    const addr = addressOf(pod, service);
    const ready = publishNotReady || isPodReady(pod);
    const one = (eps: EndpointPort[]): void => {
      raw.push({ addresses: ready ? [addr] : [], notReadyAddresses: ready ? [] : [addr], ports: eps });
    };
    if (ports.length === 0) {
      // Only a headless service lists pods without ports (for DNS).
      if (isHeadless(service)) one([]);
      continue;
    }
    for (const sp of ports) {
      const n = resolveTargetPort(pod, sp);
      if (n === undefined) continue;
      const ep: EndpointPort = { name: sp.name ?? '', port: n, protocol: sp.protocol || 'TCP' };
      if (sp.appProtocol) ep.appProtocol = sp.appProtocol;
      one([ep]);
    }
  }
  return repackSubsets(raw);
}

function addressKey(a: EndpointAddress): string {
  const r = a.targetRef;
  return [a.ip ?? '', a.hostname ?? '', a.nodeName ?? '', r?.kind ?? '', r?.namespace ?? '', r?.name ?? '', r?.uid ?? ''].join('\u0000');
}

function portKey(p: EndpointPort): string {
  return [p.name ?? '', String(p.port ?? 0), p.protocol || 'TCP', p.appProtocol ?? ''].join('\u0000');
}

const byKey =
  <T>(key: (x: T) => string) =>
  (a: T, b: T): number => {
    const ka = key(a);
    const kb = key(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  };

/**
 * Kubernetes' RepackSubsets: every address ends in the one subset of its
 * exact set of ports; an address both ready and not ready (two ports of one
 * pod do not differ in readiness, so only from duplicates) stays ready.
 */
export function repackSubsets(subsets: readonly EndpointSubset[]): EndpointSubset[] {
  // Address -> the ports it serves, with its readiness.
  const byAddress = new Map<string, { addr: EndpointAddress; ready: boolean; ports: Map<string, EndpointPort> }>();
  for (const s of subsets) {
    const entries: [EndpointAddress, boolean][] = [
      ...(s.addresses ?? []).map((a): [EndpointAddress, boolean] => [a, true]),
      ...(s.notReadyAddresses ?? []).map((a): [EndpointAddress, boolean] => [a, false]),
    ];
    for (const [addr, ready] of entries) {
      const k = addressKey(addr);
      let e = byAddress.get(k);
      if (!e) byAddress.set(k, (e = { addr, ready, ports: new Map() }));
      e.ready ||= ready;
      for (const p of s.ports ?? []) e.ports.set(portKey(p), p);
    }
  }
  // Port set -> subset.
  const bySet = new Map<string, EndpointSubset>();
  for (const { addr, ready, ports } of byAddress.values()) {
    const sorted = [...ports.values()].sort(byKey(portKey));
    const setKey = sorted.map(portKey).join(',');
    let subset = bySet.get(setKey);
    if (!subset) bySet.set(setKey, (subset = { addresses: [], notReadyAddresses: [], ports: sorted }));
    (ready ? subset.addresses! : subset.notReadyAddresses!).push(addr);
  }
  const out = [...bySet.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, s]) => s);
  for (const s of out) {
    s.addresses!.sort(byKey(addressKey));
    s.notReadyAddresses!.sort(byKey(addressKey));
  }
  return out;
}

/**
 * Semantic equality of two lists of subsets: order and unset-versus-empty
 * do not matter (protobuf gives "" where a literal has undefined).
 */
export function subsetsEqual(a: readonly EndpointSubset[] | undefined, b: readonly EndpointSubset[] | undefined): boolean {
  return canonicalSubsets(a) === canonicalSubsets(b);
}

function canonicalSubsets(subsets: readonly EndpointSubset[] | undefined): string {
  return JSON.stringify(
    repackSubsets(subsets ?? []).map((s) => [(s.addresses ?? []).map(addressKey), (s.notReadyAddresses ?? []).map(addressKey), (s.ports ?? []).map(portKey)]),
  );
}

/** The labels the Endpoints carry: the service's, plus the headless marker. */
export function endpointsLabels(service: Service): Record<string, string> {
  const labels: Record<string, string> = { ...service.metadata?.labels };
  if (isHeadless(service)) labels[HEADLESS_LABEL] = '';
  else delete labels[HEADLESS_LABEL];
  return labels;
}

/** Equality of two label maps (unset equals empty). */
export function labelsEqual(a: Readonly<Record<string, string>> | undefined, b: Readonly<Record<string, string>> | undefined): boolean {
  const ka = Object.keys(a ?? {});
  if (ka.length !== Object.keys(b ?? {}).length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b ?? {}, k) && (a ?? {})[k] === (b ?? {})[k]);
}
