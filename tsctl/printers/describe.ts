// kubectl describe's layout: "Key:  value" lines, aligned per block, nested
// sections indented by two spaces, tables (conditions, events) inside.

import type * as core from '../../api/gen/tsk/v1/core';
import type { ApiObject, KindName } from '../../api/kinds';
import { age } from '../../util/age';
import { LAST_APPLIED } from '../apply/apply';
import { endpointsText, nodeRoles, nodeStatus, servicePorts } from '../../api/printers/columns';
import { podSummary } from '../../api/printers/pod-status';
import { DESCRIBE_LAYOUT, formatTable } from './table';

type Line = { level: number; key?: string; value: string };

/** Accumulates lines; keys of consecutive lines at the same level are aligned. */
export class DescribeWriter {
  private readonly lines: Line[] = [];
  field(level: number, key: string, value: string | number | undefined): void {
    this.lines.push({ level, key, value: value === undefined || value === '' ? '<none>' : String(value) });
  }
  text(level: number, value: string): void {
    this.lines.push({ level, value });
  }
  /** A key with a map of values on the following lines (Labels, Limits, ...). */
  map(level: number, key: string, m: Record<string, string> | undefined): void {
    const entries = Object.entries(m ?? {});
    if (entries.length === 0) return this.field(level, key, '<none>');
    const [first, ...rest] = entries;
    this.field(level, key, `${first?.[0]}=${first?.[1]}`);
    for (const [k, v] of rest) this.field(level, '', `${k}=${v}`);
  }
  table(level: number, rows: string[][]): void {
    for (const line of formatTable(rows, DESCRIBE_LAYOUT).trimEnd().split('\n')) this.text(level, line);
  }
  /**
   * As kubectl's tabwriter: consecutive "key: value" lines form one block
   * whatever their indentation, and values in a block start in one column;
   * a line without a value (a section title, a table row) ends the block.
   */
  toString(): string {
    const out: string[] = [];
    let i = 0;
    const keyText = (l: Line): string => `${'  '.repeat(l.level)}${l.key ? `${l.key}:` : ''}`;
    while (i < this.lines.length) {
      const l = this.lines[i] as Line;
      if (l.key === undefined) {
        out.push(`${'  '.repeat(l.level)}${l.value}`);
        i++;
        continue;
      }
      const start = i;
      while (i < this.lines.length && this.lines[i]?.key !== undefined) i++;
      const block = this.lines.slice(start, i);
      const width = Math.max(...block.map((b) => keyText(b).length)) + 2;
      for (const b of block) out.push(`${keyText(b).padEnd(width)}${b.value}`.trimEnd());
    }
    return `${out.join('\n')}\n`;
  }
}

function annotations(obj: ApiObject): Record<string, string> {
  const a = { ...(obj.metadata?.annotations ?? {}) };
  delete a[LAST_APPLIED];
  return a;
}

function header(w: DescribeWriter, obj: ApiObject, namespaced: boolean): void {
  w.field(0, 'Name', obj.metadata?.name);
  if (namespaced) w.field(0, 'Namespace', obj.metadata?.namespace);
  w.map(0, 'Labels', obj.metadata?.labels);
  w.map(0, 'Annotations', annotations(obj));
}

function containerState(w: DescribeWriter, level: number, key: string, s: core.ContainerState | undefined, now: number): void {
  if (s?.running) {
    w.field(level, key, 'Running');
    w.field(level + 1, 'Started', s.running.startedAt);
  } else if (s?.waiting) {
    w.field(level, key, 'Waiting');
    w.field(level + 1, 'Reason', s.waiting.reason);
    if (s.waiting.message) w.field(level + 1, 'Message', s.waiting.message);
  } else if (s?.terminated) {
    const t = s.terminated;
    w.field(level, key, 'Terminated');
    w.field(level + 1, 'Reason', t.reason);
    if (t.message) w.field(level + 1, 'Message', t.message);
    w.field(level + 1, 'Exit Code', t.exitCode ?? 0);
    if (t.signal) w.field(level + 1, 'Signal', t.signal);
    w.field(level + 1, 'Started', t.startedAt);
    w.field(level + 1, 'Finished', t.finishedAt);
  } else if (key === 'State') {
    w.field(level, key, 'Waiting');
  }
  void now;
}

function containers(
  w: DescribeWriter,
  level: number,
  title: string,
  list: core.Container[] | undefined,
  statuses: core.ContainerStatus[] | undefined,
  now: number,
): void {
  if (!list || list.length === 0) return;
  w.text(level, `${title}:`);
  for (const c of list) {
    const st = statuses?.find((s) => s.name === c.name);
    w.text(level + 1, `${c.name ?? ''}:`);
    const l = level + 2;
    if (st?.containerID) w.field(l, 'Container ID', st.containerID);
    w.field(l, 'Image', c.image);
    if (st?.imageID) w.field(l, 'Image ID', st.imageID);
    const ports = (c.ports ?? []).map((p) => `${p.containerPort ?? 0}/${p.protocol || 'TCP'}`);
    w.field(l, ports.length > 1 ? 'Ports' : 'Port', ports.join(', '));
    if (c.command?.length) w.field(l, 'Command', c.command.join(' '));
    if (c.args?.length) w.field(l, 'Args', c.args.join(' '));
    if (st) {
      containerState(w, l, 'State', st.state, now);
      if (st.lastState?.terminated || st.lastState?.running || st.lastState?.waiting) containerState(w, l, 'Last State', st.lastState, now);
      w.field(l, 'Ready', st.ready ? 'True' : 'False');
      w.field(l, 'Restart Count', st.restartCount ?? 0);
    }
    const limits = c.resources?.limits ?? {};
    const requests = c.resources?.requests ?? {};
    if (Object.keys(limits).length > 0) {
      w.text(l, 'Limits:');
      for (const [k, v] of Object.entries(limits)) w.field(l + 1, k, v);
    }
    if (Object.keys(requests).length > 0) {
      w.text(l, 'Requests:');
      for (const [k, v] of Object.entries(requests)) w.field(l + 1, k, v);
    }
    if (c.livenessProbe) w.field(l, 'Liveness', probeText(c.livenessProbe));
    if (c.readinessProbe) w.field(l, 'Readiness', probeText(c.readinessProbe));
    if (c.env?.length) {
      w.text(l, 'Environment:');
      for (const e of c.env) w.field(l + 1, e.name ?? '', e.value ?? (e.valueFrom?.fieldRef ? `(${e.valueFrom.fieldRef.fieldPath})` : ''));
    } else w.field(l, 'Environment', '<none>');
    if (c.volumeMounts?.length) {
      w.text(l, 'Mounts:');
      for (const m of c.volumeMounts) w.text(l + 1, `${m.mountPath ?? ''} from ${m.name ?? ''} (${m.readOnly ? 'ro' : 'rw'})`);
    } else w.field(l, 'Mounts', '<none>');
  }
}

function intOrString(v: { type?: number; intVal?: number; strVal?: string } | undefined): string {
  return v?.type === 1 ? (v.strVal ?? '') : String(v?.intVal ?? 0);
}

function probeText(p: core.Probe): string {
  const timing = `delay=${p.initialDelaySeconds ?? 0}s timeout=${p.timeoutSeconds || 1}s period=${p.periodSeconds || 10}s #success=${p.successThreshold || 1} #failure=${p.failureThreshold || 3}`;
  if (p.httpGet)
    return `http-get ${p.httpGet.scheme === 'HTTPS' ? 'https' : 'http'}://${p.httpGet.host ?? ''}:${intOrString(p.httpGet.port)}${p.httpGet.path || '/'} ${timing}`;
  if (p.tcpSocket) return `tcp-socket ${p.tcpSocket.host ?? ''}:${intOrString(p.tcpSocket.port)} ${timing}`;
  if (p.exec) return `exec [${(p.exec.command ?? []).join(' ')}] ${timing}`;
  return timing;
}

function describePod(w: DescribeWriter, p: core.Pod, now: number): void {
  header(w, p, true);
  w.field(0, 'Priority', p.spec?.priority ?? 0);
  w.field(0, 'Node', p.spec?.nodeName ? `${p.spec.nodeName}${p.status?.hostIP ? `/${p.status.hostIP}` : ''}` : '<none>');
  w.field(0, 'Start Time', p.status?.startTime);
  if (p.metadata?.deletionTimestamp) {
    w.field(0, 'Status', `Terminating (lasts ${age(p.metadata.deletionTimestamp, now)})`);
    w.field(0, 'Termination Grace Period', `${p.metadata.deletionGracePeriodSeconds ?? 0}s`);
  } else w.field(0, 'Status', podSummary(p, now).status);
  if (p.status?.reason) w.field(0, 'Reason', p.status.reason);
  if (p.status?.message) w.field(0, 'Message', p.status.message);
  w.field(0, 'IP', p.status?.podIP);
  containers(w, 0, 'Init Containers', p.spec?.initContainers, p.status?.initContainerStatuses, now);
  containers(w, 0, 'Containers', p.spec?.containers, p.status?.containerStatuses, now);
  const conds = p.status?.conditions ?? [];
  if (conds.length > 0) {
    w.text(0, 'Conditions:');
    w.table(1, [['Type', 'Status'], ...conds.map((c) => [c.type ?? '', c.status ?? ''])]);
  }
  const vols = p.spec?.volumes ?? [];
  if (vols.length > 0) {
    w.text(0, 'Volumes:');
    for (const v of vols) {
      w.text(1, `${v.name ?? ''}:`);
      if (v.emptyDir) {
        w.field(2, 'Type', "EmptyDir (a temporary directory that shares a pod's lifetime)");
        w.field(2, 'Medium', v.emptyDir.medium || '');
      } else if (v.hostPath) {
        w.field(2, 'Type', 'HostPath (bare host directory volume)');
        w.field(2, 'Path', v.hostPath.path);
      }
    }
  } else w.field(0, 'Volumes', '<none>');
  w.field(0, 'QoS Class', p.status?.qosClass);
  w.map(0, 'Node-Selectors', p.spec?.nodeSelector);
  const tol = (p.spec?.tolerations ?? []).map(
    (t) => `${t.key ?? ''}${t.operator === 'Exists' ? '' : `=${t.value ?? ''}`}:${t.effect ?? ''}${t.tolerationSeconds ? ` for ${t.tolerationSeconds}s` : ''}`,
  );
  w.field(0, 'Tolerations', tol.join(', '));
}

function describeRc(w: DescribeWriter, rc: core.ReplicationController, now: number): void {
  header(w, rc, true);
  w.map(0, 'Selector', rc.spec?.selector);
  w.field(0, 'Replicas', `${rc.status?.replicas ?? 0} current / ${rc.spec?.replicas ?? 1} desired`);
  w.field(0, 'Pods Status', `${rc.status?.readyReplicas ?? 0} Ready / ${rc.status?.availableReplicas ?? 0} Available`);
  w.text(0, 'Pod Template:');
  w.map(1, 'Labels', rc.spec?.template?.metadata?.labels);
  containers(w, 1, 'Containers', rc.spec?.template?.spec?.containers, undefined, now);
}

function describeService(w: DescribeWriter, s: core.Service): void {
  header(w, s, true);
  w.map(0, 'Selector', s.spec?.selector);
  w.field(0, 'Type', s.spec?.type || 'ClusterIP');
  w.field(0, 'IP', s.spec?.clusterIP);
  if (s.spec?.externalIPs?.length) w.field(0, 'External IPs', s.spec.externalIPs.join(','));
  if (s.spec?.type === 'ExternalName') w.field(0, 'External Name', s.spec.externalName);
  const ingress = (s.status?.loadBalancer?.ingress ?? []).map((i) => `${i.ip || i.hostname || ''}${i.ipMode ? ` (${i.ipMode})` : ''}`);
  if (ingress.length > 0) w.field(0, 'LoadBalancer Ingress', ingress.join(', '));
  for (const p of s.spec?.ports ?? []) {
    const name = p.name || '<unset>';
    w.field(0, 'Port', `${name}  ${p.port ?? 0}/${p.protocol || 'TCP'}`);
    w.field(0, 'TargetPort', `${intOrString(p.targetPort)}/${p.protocol || 'TCP'}`);
    if (p.nodePort) w.field(0, 'NodePort', `${name}  ${p.nodePort}/${p.protocol || 'TCP'}`);
  }
  if (!s.spec?.ports?.length) w.field(0, 'Port(s)', servicePorts(s.spec));
  w.field(0, 'Session Affinity', s.spec?.sessionAffinity || 'None');
  if (s.spec?.type === 'NodePort' || s.spec?.type === 'LoadBalancer') w.field(0, 'External Traffic Policy', s.spec.externalTrafficPolicy || 'Cluster');
  if (s.spec?.healthCheckNodePort) w.field(0, 'HealthCheck NodePort', String(s.spec.healthCheckNodePort));
  if (s.spec?.loadBalancerSourceRanges?.length) w.field(0, 'LoadBalancer Source Ranges', s.spec.loadBalancerSourceRanges.join(','));
}

function describeEndpoints(w: DescribeWriter, ep: core.Endpoints): void {
  header(w, ep, true);
  w.text(0, 'Subsets:');
  for (const s of ep.subsets ?? []) {
    w.field(1, 'Addresses', (s.addresses ?? []).map((a) => a.ip).join(','));
    w.field(1, 'NotReadyAddresses', (s.notReadyAddresses ?? []).map((a) => a.ip).join(','));
    w.text(1, 'Ports:');
    w.table(2, [['Name', 'Port', 'Protocol'], ...(s.ports ?? []).map((p) => [p.name || '<unset>', String(p.port ?? 0), p.protocol || 'TCP'])]);
  }
  w.field(0, 'Endpoints', endpointsText(ep, Number.MAX_SAFE_INTEGER));
}

function describeNode(w: DescribeWriter, n: core.Node, now: number): void {
  header(w, n, false);
  w.field(0, 'Roles', nodeRoles(n));
  w.field(0, 'CreationTimestamp', n.metadata?.creationTimestamp);
  w.field(0, 'Taints', (n.spec?.taints ?? []).map((t) => `${t.key ?? ''}${t.value ? `=${t.value}` : ''}:${t.effect ?? ''}`).join(', '));
  w.field(0, 'Unschedulable', n.spec?.unschedulable ? 'true' : 'false');
  w.field(0, 'Status', nodeStatus(n));
  const conds = n.status?.conditions ?? [];
  if (conds.length > 0) {
    w.text(0, 'Conditions:');
    w.table(1, [
      ['Type', 'Status', 'LastHeartbeatTime', 'Reason', 'Message'],
      ...conds.map((c) => [c.type ?? '', c.status ?? '', c.lastHeartbeatTime ?? '', c.reason ?? '', c.message ?? '']),
    ]);
  }
  w.text(0, 'Addresses:');
  for (const a of n.status?.addresses ?? []) w.field(1, a.type ?? '', a.address);
  w.text(0, 'Capacity:');
  for (const [k, v] of Object.entries(n.status?.capacity ?? {})) w.field(1, k, v);
  w.text(0, 'Allocatable:');
  for (const [k, v] of Object.entries(n.status?.allocatable ?? {})) w.field(1, k, v);
  const info = n.status?.nodeInfo;
  if (info) {
    w.text(0, 'System Info:');
    w.field(1, 'Kernel Version', info.kernelVersion);
    w.field(1, 'OS Image', info.osImage);
    w.field(1, 'Container Runtime Version', info.containerRuntimeVersion);
    w.field(1, 'Kubelet Version', info.kubeletVersion);
  }
  w.field(0, 'PodCIDR', n.spec?.podCIDR);
  void now;
}

function describeNamespace(w: DescribeWriter, ns: core.Namespace): void {
  header(w, ns, false);
  w.field(0, 'Status', ns.status?.phase || 'Active');
}

function describeEvent(w: DescribeWriter, ev: core.Event, now: number): void {
  header(w, ev, true);
  w.field(0, 'Type', ev.type);
  w.field(0, 'Reason', ev.reason);
  w.field(0, 'Involved Object', `${ev.involvedObject?.kind ?? ''}/${ev.involvedObject?.name ?? ''}`);
  w.field(0, 'Source', [ev.source?.component, ev.source?.host].filter(Boolean).join(', '));
  w.field(0, 'Count', ev.count ?? 1);
  w.field(0, 'Last Seen', age(ev.lastTimestamp || ev.eventTime, now));
  w.field(0, 'Message', ev.message);
}

/** kubectl's describeSecret: the keys with their sizes, never the values. */
function describeSecret(w: DescribeWriter, s: core.Secret): void {
  header(w, s, true);
  w.text(0, '');
  w.field(0, 'Type', s.type || 'Opaque');
  w.text(0, '');
  w.text(0, 'Data');
  w.text(0, '====');
  for (const [k, v] of sortedEntries(s.data)) w.field(0, k, `${v.byteLength} bytes`);
}

/** kubectl's describeConfigMap: each data value under its key, binaryData by size. */
function describeConfigMap(w: DescribeWriter, cm: core.ConfigMap): void {
  header(w, cm, true);
  w.text(0, '');
  w.text(0, 'Data');
  w.text(0, '====');
  for (const [k, v] of sortedEntries(cm.data)) {
    w.text(0, `${k}:`);
    w.text(0, '----');
    w.text(0, v);
    w.text(0, '');
  }
  w.text(0, '');
  w.text(0, 'BinaryData');
  w.text(0, '====');
  for (const [k, v] of sortedEntries(cm.binaryData)) w.text(0, `${k}: ${v.byteLength} bytes`);
  w.text(0, '');
}

/** kubectl's generic describer, as it prints a Lease: the header, API Version, Kind, then the spec's fields. */
function describeLease(w: DescribeWriter, l: core.Lease): void {
  header(w, l, true);
  w.field(0, 'API Version', l.apiVersion || 'coordination.k8s.io/v1');
  w.field(0, 'Kind', 'Lease');
  w.text(0, 'Spec:');
  const s = l.spec ?? {};
  if (s.acquireTime) w.field(1, 'Acquire Time', s.acquireTime);
  if (s.holderIdentity) w.field(1, 'Holder Identity', s.holderIdentity);
  if (s.leaseDurationSeconds !== undefined) w.field(1, 'Lease Duration Seconds', s.leaseDurationSeconds);
  if (s.leaseTransitions !== undefined) w.field(1, 'Lease Transitions', s.leaseTransitions);
  if (s.preferredHolder) w.field(1, 'Preferred Holder', s.preferredHolder);
  if (s.renewTime) w.field(1, 'Renew Time', s.renewTime);
  if (s.strategy) w.field(1, 'Strategy', s.strategy);
}

function sortedEntries<V>(m: Record<string, V> | undefined): [string, V][] {
  return Object.entries(m ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Kinds whose description has no events section (kubectl describes a Secret without them). */
export const DESCRIBED_WITHOUT_EVENTS: ReadonlySet<KindName> = new Set(['Event', 'Secret']);

/** The events table at the end of a description. */
export function eventsSection(w: DescribeWriter, events: readonly core.Event[], now: number): void {
  if (events.length === 0) return w.field(0, 'Events', '<none>');
  w.text(0, 'Events:');
  const sorted = [...events].sort((a, b) => Date.parse(a.lastTimestamp || a.eventTime || '') - Date.parse(b.lastTimestamp || b.eventTime || ''));
  w.table(1, [
    ['Type', 'Reason', 'Age', 'From', 'Message'],
    ['----', '------', '----', '----', '-------'],
    ...sorted.map((e) => {
      const last = age(e.lastTimestamp || e.eventTime || e.metadata?.creationTimestamp, now);
      const when = (e.count ?? 1) > 1 ? `${last} (x${e.count} over ${age(e.firstTimestamp, now)})` : last;
      return [e.type || 'Normal', e.reason ?? '', when, e.source?.component || e.reportingComponent || '', (e.message ?? '').trim()];
    }),
  ]);
}

/** The description of one object, without its events section. */
export function describeObject(kind: KindName, obj: ApiObject, now: number): DescribeWriter {
  const w = new DescribeWriter();
  switch (kind) {
    case 'Pod':
      describePod(w, obj as core.Pod, now);
      break;
    case 'ReplicationController':
      describeRc(w, obj as core.ReplicationController, now);
      break;
    case 'Service':
      describeService(w, obj as core.Service);
      break;
    case 'Endpoints':
      describeEndpoints(w, obj as core.Endpoints);
      break;
    case 'Node':
      describeNode(w, obj as core.Node, now);
      break;
    case 'Namespace':
      describeNamespace(w, obj as core.Namespace);
      break;
    case 'Event':
      describeEvent(w, obj as core.Event, now);
      break;
    case 'Secret':
      describeSecret(w, obj as core.Secret);
      break;
    case 'ConfigMap':
      describeConfigMap(w, obj as core.ConfigMap);
      break;
    case 'Lease':
      describeLease(w, obj as core.Lease);
      break;
  }
  return w;
}
