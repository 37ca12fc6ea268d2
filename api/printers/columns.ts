// kubectl's table columns for each kind (k8s.io/kubernetes/pkg/printers/
// internalversion/printers.go), wide variants included.

import type * as core from '../gen/tsk/v1/core';
import type { ApiObject, KindName } from '../kinds';
import { age } from '../../util/age';
import { podSummary } from './pod-status';

export interface Columns<T> {
  readonly headers: readonly string[];
  row(obj: T, now: number): string[];
}

export interface TableOptions {
  readonly wide?: boolean;
  /** -A: a NAMESPACE column first. */
  readonly withNamespace?: boolean;
  /** --show-labels: a LABELS column last. */
  readonly showLabels?: boolean;
  /** -L KEY: a column per label key, before LABELS; empty where the label is missing. */
  readonly labelColumns?: readonly string[];
}

const NONE = '<none>';

/** labels.FormatLabels: the "k=v" strings sorted (as strings, like labels.Set.String), <none> when empty. */
function labelsText(labels: Record<string, string> | undefined): string {
  const pairs = Object.entries(labels ?? {}).map(([k, v]) => `${k}=${v}`);
  return pairs.length === 0 ? NONE : pairs.sort().join(',');
}

function selectorText(sel: Record<string, string> | undefined): string {
  return labelsText(sel);
}

const created = (o: ApiObject, now: number): string => age(o.metadata?.creationTimestamp, now);

function podColumns(wide: boolean): Columns<core.Pod> {
  const headers = ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE'];
  if (wide) headers.push('IP', 'NODE', 'NOMINATED NODE', 'READINESS GATES');
  return {
    headers,
    row(p, now) {
      const s = podSummary(p, now);
      const row = [p.metadata?.name ?? '', s.ready, s.status, s.restarts, created(p, now)];
      if (wide) row.push(p.status?.podIP || NONE, p.spec?.nodeName || NONE, p.status?.nominatedNodeName || NONE, NONE);
      return row;
    },
  };
}

function containersAndImages(spec: core.PodSpec | undefined): [string, string] {
  const cs = spec?.containers ?? [];
  return [cs.map((c) => c.name ?? '').join(','), cs.map((c) => c.image ?? '').join(',')];
}

function rcColumns(wide: boolean): Columns<core.ReplicationController> {
  const headers = ['NAME', 'DESIRED', 'CURRENT', 'READY', 'AGE'];
  if (wide) headers.push('CONTAINERS', 'IMAGES', 'SELECTOR');
  return {
    headers,
    row(rc, now) {
      const desired = rc.spec?.replicas ?? 1;
      const row = [rc.metadata?.name ?? '', String(desired), String(rc.status?.replicas ?? 0), String(rc.status?.readyReplicas ?? 0), created(rc, now)];
      if (wide) row.push(...containersAndImages(rc.spec?.template?.spec), selectorText(rc.spec?.selector));
      return row;
    },
  };
}

export function servicePorts(spec: core.ServiceSpec | undefined): string {
  const ports = spec?.ports ?? [];
  if (ports.length === 0) return NONE;
  return ports
    .map((p) => {
      const proto = p.protocol || 'TCP';
      return p.nodePort ? `${p.port ?? 0}:${p.nodePort}/${proto}` : `${p.port ?? 0}/${proto}`;
    })
    .join(',');
}

/** kubectl's loadBalancerWidth: the EXTERNAL-IP of a load balancer is cut to this without -o wide. */
const LOAD_BALANCER_WIDTH = 16;

/** kubectl's loadBalancerStatusStringer: the ingress IPs (else hostnames), sorted, without duplicates. */
function loadBalancerText(s: core.Service, wide: boolean): string {
  const all = new Set((s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip || i.hostname || '').filter((x) => x !== ''));
  const text = [...all].sort().join(',');
  return !wide && text.length > LOAD_BALANCER_WIDTH ? `${text.slice(0, LOAD_BALANCER_WIDTH - 3)}...` : text;
}

/** kubectl's getServiceExternalIP: by type; a LoadBalancer without ingress is <pending>. */
export function serviceExternalIP(s: core.Service, wide: boolean): string {
  const externalIPs = s.spec?.externalIPs ?? [];
  switch (s.spec?.type || 'ClusterIP') {
    case 'ClusterIP':
    case 'NodePort':
      return externalIPs.length > 0 ? externalIPs.join(',') : NONE;
    case 'LoadBalancer': {
      const lb = loadBalancerText(s, wide);
      const all = [...(lb ? lb.split(',') : []), ...externalIPs];
      return all.length > 0 ? all.join(',') : '<pending>';
    }
    case 'ExternalName':
      return s.spec?.externalName ?? '';
    default:
      return '<unknown>';
  }
}

function serviceColumns(wide: boolean): Columns<core.Service> {
  const headers = ['NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE'];
  if (wide) headers.push('SELECTOR');
  return {
    headers,
    row(s, now) {
      const row = [
        s.metadata?.name ?? '',
        s.spec?.type || 'ClusterIP',
        s.spec?.clusterIP || NONE,
        serviceExternalIP(s, wide),
        servicePorts(s.spec),
        created(s, now),
      ];
      if (wide) row.push(selectorText(s.spec?.selector));
      return row;
    },
  };
}

/** "10.0.0.1:80,10.0.0.2:80 + 3 more...", as kubectl's formatEndpoints. */
export function endpointsText(ep: core.Endpoints, max = 3): string {
  const all: string[] = [];
  for (const subset of ep.subsets ?? []) {
    const ports = subset.ports?.length ? subset.ports : [undefined];
    for (const port of ports) {
      for (const addr of subset.addresses ?? []) all.push(port ? `${addr.ip ?? ''}:${port.port ?? 0}` : (addr.ip ?? ''));
    }
  }
  if (all.length === 0) return NONE;
  const shown = all.slice(0, max).join(',');
  return all.length > max ? `${shown} + ${all.length - max} more...` : shown;
}

function endpointsColumns(): Columns<core.Endpoints> {
  return { headers: ['NAME', 'ENDPOINTS', 'AGE'], row: (ep, now) => [ep.metadata?.name ?? '', endpointsText(ep), created(ep, now)] };
}

/** As kubectl: Ready only when the condition is True; False or Unknown (a silent node) is NotReady; no condition at all is Unknown. */
export function nodeStatus(n: core.Node): string {
  const ready = (n.status?.conditions ?? []).find((c) => c.type === 'Ready');
  let s = !ready ? 'Unknown' : ready.status === 'True' ? 'Ready' : 'NotReady';
  if (n.spec?.unschedulable) s += ',SchedulingDisabled';
  return s;
}

export function nodeRoles(n: core.Node): string {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(n.metadata?.labels ?? {})) {
    if (k.startsWith('node-role.kubernetes.io/')) roles.add(k.slice('node-role.kubernetes.io/'.length) || v);
    else if (k === 'kubernetes.io/role' && v) roles.add(v);
  }
  return roles.size === 0 ? NONE : [...roles].sort().join(',');
}

function nodeColumns(wide: boolean): Columns<core.Node> {
  const headers = ['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION'];
  if (wide) headers.push('INTERNAL-IP', 'EXTERNAL-IP', 'OS-IMAGE', 'KERNEL-VERSION', 'CONTAINER-RUNTIME');
  return {
    headers,
    row(n, now) {
      const info = n.status?.nodeInfo;
      const row = [n.metadata?.name ?? '', nodeStatus(n), nodeRoles(n), created(n, now), info?.kubeletVersion || ''];
      if (wide) {
        const addr = (t: string): string => (n.status?.addresses ?? []).find((a) => a.type === t)?.address || NONE;
        row.push(
          addr('InternalIP'),
          addr('ExternalIP'),
          info?.osImage || '<unknown>',
          info?.kernelVersion || '<unknown>',
          info?.containerRuntimeVersion || '<unknown>',
        );
      }
      return row;
    },
  };
}

function namespaceColumns(): Columns<core.Namespace> {
  return { headers: ['NAME', 'STATUS', 'AGE'], row: (ns, now) => [ns.metadata?.name ?? '', ns.status?.phase || 'Active', created(ns, now)] };
}

export function eventObject(ev: core.Event): string {
  const o = ev.involvedObject;
  return `${(o?.kind ?? '').toLowerCase()}/${o?.name ?? ''}`;
}

export function eventLastSeen(ev: core.Event, now: number): string {
  return age(ev.lastTimestamp || ev.eventTime || ev.firstTimestamp || ev.metadata?.creationTimestamp, now);
}

function eventColumns(wide: boolean): Columns<core.Event> {
  const headers = ['LAST SEEN', 'TYPE', 'REASON', 'OBJECT'];
  if (wide) headers.push('SUBOBJECT', 'SOURCE');
  headers.push('MESSAGE');
  if (wide) headers.push('FIRST SEEN', 'COUNT', 'NAME');
  return {
    headers,
    row(ev, now) {
      const row = [eventLastSeen(ev, now), ev.type || 'Normal', ev.reason ?? '', eventObject(ev)];
      if (wide) row.push(ev.involvedObject?.fieldPath ?? '', [ev.source?.component, ev.source?.host].filter(Boolean).join(', '));
      row.push((ev.message ?? '').trim());
      if (wide) row.push(age(ev.firstTimestamp || ev.metadata?.creationTimestamp, now), String(ev.count ?? 1), ev.metadata?.name ?? '');
      return row;
    },
  };
}

/** kubectl's DATA column: the number of keys (data and binaryData). */
function configMapColumns(): Columns<core.ConfigMap> {
  return {
    headers: ['NAME', 'DATA', 'AGE'],
    row: (cm, now) => [cm.metadata?.name ?? '', String(Object.keys(cm.data ?? {}).length + Object.keys(cm.binaryData ?? {}).length), created(cm, now)],
  };
}

function secretColumns(): Columns<core.Secret> {
  return {
    headers: ['NAME', 'TYPE', 'DATA', 'AGE'],
    row: (s, now) => [s.metadata?.name ?? '', s.type || 'Opaque', String(Object.keys(s.data ?? {}).length), created(s, now)],
  };
}

/** kubectl's printLease: the holder as written, empty when nobody holds it. */
function leaseColumns(): Columns<core.Lease> {
  return { headers: ['NAME', 'HOLDER', 'AGE'], row: (l, now) => [l.metadata?.name ?? '', l.spec?.holderIdentity ?? '', created(l, now)] };
}

function baseColumns(kind: KindName, wide: boolean): Columns<ApiObject> {
  const pick = (): Columns<never> => {
    switch (kind) {
      case 'Pod':
        return podColumns(wide);
      case 'ReplicationController':
        return rcColumns(wide);
      case 'Service':
        return serviceColumns(wide);
      case 'Endpoints':
        return endpointsColumns();
      case 'Node':
        return nodeColumns(wide);
      case 'Namespace':
        return namespaceColumns();
      case 'Event':
        return eventColumns(wide);
      case 'ConfigMap':
        return configMapColumns();
      case 'Secret':
        return secretColumns();
      case 'Lease':
        return leaseColumns();
    }
  };
  return pick() as unknown as Columns<ApiObject>;
}

/** kubectl's header of a -L column: the key's last "/" segment, upper-cased (app.kubernetes.io/name -> NAME). */
export function labelColumnHeader(key: string): string {
  return (key.split('/').pop() ?? key).toUpperCase();
}

/** The columns of `kind`, with the NAMESPACE, -L label and LABELS columns when asked for (kubectl's decorateTable). */
export function columnsFor(kind: KindName, options: TableOptions = {}): Columns<ApiObject> {
  const base = baseColumns(kind, options.wide ?? false);
  const labelKeys = options.labelColumns ?? [];
  const headers = [
    ...(options.withNamespace ? ['NAMESPACE'] : []),
    ...base.headers,
    ...labelKeys.map(labelColumnHeader),
    ...(options.showLabels ? ['LABELS'] : []),
  ];
  return {
    headers,
    row(obj, now) {
      const labels = obj.metadata?.labels ?? {};
      return [
        ...(options.withNamespace ? [obj.metadata?.namespace ?? ''] : []),
        ...base.row(obj, now),
        ...labelKeys.map((k) => labels[k] ?? ''),
        ...(options.showLabels ? [labelsText(obj.metadata?.labels)] : []),
      ];
    },
  };
}
