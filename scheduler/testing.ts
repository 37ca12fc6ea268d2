// Builders of nodes and pods for the scheduler's unit tests.

import type { Affinity, Container, Node, Pod, Taint, Toleration, TopologySpreadConstraint } from '../api/gen/tsk/v1/core';
import { nodeInfo, podInfo } from './framework/resources';
import type { NodeInfo } from './framework/types';

export interface NodeOptions {
  cpu?: string;
  memory?: string;
  pods?: string;
  labels?: Record<string, string>;
  taints?: Taint[];
  unschedulable?: boolean;
}

export function makeNode(name: string, o: NodeOptions = {}): Node {
  const alloc = { cpu: o.cpu ?? '4', memory: o.memory ?? '8Gi', pods: o.pods ?? '110' };
  return {
    metadata: { name, labels: o.labels ?? {}, uid: `uid-${name}`, resourceVersion: '1' },
    spec: { unschedulable: o.unschedulable ?? false, taints: o.taints ?? [] },
    status: { capacity: alloc, allocatable: alloc, conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

export interface PodOptions {
  cpu?: string;
  memory?: string;
  nodeName?: string;
  nodeSelector?: Record<string, string>;
  tolerations?: Toleration[];
  hostPorts?: { port: number; protocol?: string; ip?: string }[];
  owner?: string;
  phase?: string;
  namespace?: string;
  init?: Container[];
  created?: string;
  priority?: number;
  schedulerName?: string;
  labels?: Record<string, string>;
  affinity?: Affinity;
  topologySpreadConstraints?: TopologySpreadConstraint[];
}

export function makePod(name: string, o: PodOptions = {}): Pod {
  const requests: Record<string, string> = {};
  if (o.cpu) requests['cpu'] = o.cpu;
  if (o.memory) requests['memory'] = o.memory;
  return {
    metadata: {
      name,
      namespace: o.namespace ?? 'default',
      uid: `uid-${name}`,
      resourceVersion: '1',
      creationTimestamp: o.created ?? '2026-01-01T00:00:00Z',
      labels: o.labels ?? {},
      ownerReferences: o.owner ? [{ apiVersion: 'v1', kind: 'ReplicationController', name: o.owner, uid: `uid-${o.owner}`, controller: true }] : [],
    },
    spec: {
      containers: [
        {
          name: 'main',
          image: 'busybox:1.36',
          resources: { requests },
          ports: (o.hostPorts ?? []).map((p) => ({ containerPort: p.port, hostPort: p.port, protocol: p.protocol ?? 'TCP', hostIP: p.ip ?? '' })),
        },
      ],
      initContainers: o.init ?? [],
      nodeName: o.nodeName ?? '',
      nodeSelector: o.nodeSelector ?? {},
      tolerations: o.tolerations ?? [],
      ...(o.priority !== undefined ? { priority: o.priority } : {}),
      ...(o.schedulerName !== undefined ? { schedulerName: o.schedulerName } : {}),
      ...(o.affinity !== undefined ? { affinity: o.affinity } : {}),
      ...(o.topologySpreadConstraints !== undefined ? { topologySpreadConstraints: o.topologySpreadConstraints } : {}),
    },
    status: { phase: o.phase ?? 'Pending' },
  };
}

/** A NodeInfo of a node with the given pods on it. */
export function info(node: Node, pods: Pod[] = []): NodeInfo {
  return nodeInfo(node, pods.map(podInfo));
}

export { podInfo };
