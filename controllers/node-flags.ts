// The flags of the node controllers (node lifecycle, node IPAM, pod GC), as
// kube-controller-manager names them, in one place for `tsk controller-manager`:
// the parseArgs option specs to spread into its parser, their help lines,
// parsing into each controller's options, and the registry entries built
// with those options. Pure; bad values throw the caller's usage error naming
// the flag. Defaults are Kubernetes'.

import type { ParseArgsConfig } from 'node:util';
import { goDurationMs } from '../util/flags';
import { newEndpointsController, type EndpointsOptions } from './endpoints/controller';
import { DEFAULT_CLUSTER_CIDR, DEFAULT_NODE_CIDR_MASK_SIZE, newNodeIpamController, type NodeIpamOptions } from './nodeipam/controller';
import { CidrError, CidrSet } from './nodeipam/cidr-set';
import { newNodeLifecycleController, type NodeLifecycleOptions } from './nodelifecycle/controller';
import { DEFAULT_TERMINATED_POD_GC_THRESHOLD, newPodGcController, type PodGcOptions } from './podgc/controller';
import { CONTROLLERS, type ControllerTable } from './registry';

export interface NodeControllerOptions {
  readonly endpoints: EndpointsOptions;
  readonly nodeLifecycle: NodeLifecycleOptions;
  readonly nodeIpam: NodeIpamOptions;
  readonly podGc: PodGcOptions;
}

/** Spread into parseArgs' options. Every value is a string, parsed by parseNodeControllerFlags. */
export const NODE_CONTROLLER_FLAG_SPECS = {
  'node-monitor-grace-period': { type: 'string', default: '40s' },
  'node-startup-grace-period': { type: 'string', default: '1m0s' },
  'node-monitor-period': { type: 'string', default: '5s' },
  'allocate-node-cidrs': { type: 'string', default: 'true' },
  'cluster-cidr': { type: 'string', default: DEFAULT_CLUSTER_CIDR },
  'node-cidr-mask-size': { type: 'string', default: String(DEFAULT_NODE_CIDR_MASK_SIZE) },
  'terminated-pod-gc-threshold': { type: 'string', default: String(DEFAULT_TERMINATED_POD_GC_THRESHOLD) },
  'endpoint-updates-batch-period': { type: 'string', default: '0s' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

export const NODE_CONTROLLER_FLAG_HELP = `  --node-monitor-grace-period DURATION   silence after which a node's conditions become Unknown (default 40s)
  --node-startup-grace-period DURATION   the same for a node that never posted status (default 1m0s)
  --node-monitor-period DURATION         how often every node's health is checked (default 5s)
  --allocate-node-cidrs BOOL             give each node a spec.podCIDR from --cluster-cidr (default true)
  --cluster-cidr CIDR                    the pods' range, split among the nodes (default ${DEFAULT_CLUSTER_CIDR})
  --node-cidr-mask-size N                prefix length of each node's pod CIDR (default ${DEFAULT_NODE_CIDR_MASK_SIZE})
  --terminated-pod-gc-threshold N        finished pods kept before the oldest are deleted; 0 keeps all (default ${DEFAULT_TERMINATED_POD_GC_THRESHOLD})
  --endpoint-updates-batch-period DURATION
                                         delay a pod change's Endpoints update by this much, to join it with
                                         the changes that follow (fewer Endpoints writes, later programming;
                                         default 0s)`;

type Values = Readonly<Record<string, string | boolean | undefined>>;

/**
 * The controllers' options from parsed values (missing ones take the
 * defaults). `usage` makes the error to throw, e.g. the manager's UsageError.
 */
export function parseNodeControllerFlags(values: Values, usage: (message: string) => Error): NodeControllerOptions {
  const text = (flag: keyof typeof NODE_CONTROLLER_FLAG_SPECS): string => {
    const v = values[flag];
    return typeof v === 'string' ? v : NODE_CONTROLLER_FLAG_SPECS[flag].default;
  };
  const duration = (flag: keyof typeof NODE_CONTROLLER_FLAG_SPECS): number => {
    const ms = goDurationMs(text(flag));
    if (ms === undefined || ms <= 0) throw usage(`--${flag}: "${text(flag)}" is not a positive duration such as 40s, 1m0s or 500ms`);
    return ms;
  };
  const integer = (flag: keyof typeof NODE_CONTROLLER_FLAG_SPECS, min: number): number => {
    const v = text(flag);
    if (!/^-?\d+$/.test(v) || Number(v) < min) throw usage(`--${flag}: "${v}" must be an integer of at least ${min}`);
    return Number(v);
  };
  const allocate = text('allocate-node-cidrs');
  if (allocate !== 'true' && allocate !== 'false') throw usage(`--allocate-node-cidrs: "${allocate}" must be true or false`);
  const nodeIpam: NodeIpamOptions = {
    allocateNodeCidrs: allocate === 'true',
    clusterCidr: text('cluster-cidr'),
    nodeCidrMaskSize: integer('node-cidr-mask-size', 0),
  };
  try {
    new CidrSet(nodeIpam.clusterCidr!, nodeIpam.nodeCidrMaskSize!);
  } catch (err) {
    if (err instanceof CidrError) throw usage(err.message);
    throw err;
  }
  const batch = goDurationMs(text('endpoint-updates-batch-period'));
  if (batch === undefined) throw usage(`--endpoint-updates-batch-period: "${text('endpoint-updates-batch-period')}" is not a duration such as 0s or 500ms`);
  return {
    endpoints: { updatesBatchPeriodMs: batch },
    nodeLifecycle: {
      nodeMonitorGracePeriodMs: duration('node-monitor-grace-period'),
      nodeStartupGracePeriodMs: duration('node-startup-grace-period'),
      nodeMonitorPeriodMs: duration('node-monitor-period'),
    },
    nodeIpam,
    // Kubernetes: a threshold of 0 or less disables the collection of finished pods.
    podGc: { terminatedPodThreshold: integer('terminated-pod-gc-threshold', -1 << 30) },
  };
}

/**
 * The registry entries of the endpoints and node controllers built with these
 * options, to spread over the registry table (Kubernetes' worker counts).
 */
export function nodeControllerEntries(options: NodeControllerOptions): ControllerTable {
  const workers = (name: string): number => CONTROLLERS[name]!.workers;
  return {
    endpoints: { factory: (ctx) => newEndpointsController(ctx, options.endpoints), workers: workers('endpoints') },
    nodelifecycle: { factory: (ctx) => newNodeLifecycleController(ctx, options.nodeLifecycle), workers: workers('nodelifecycle') },
    nodeipam: { factory: (ctx) => newNodeIpamController(ctx, options.nodeIpam), workers: workers('nodeipam') },
    podgc: { factory: (ctx) => newPodGcController(ctx, options.podGc), workers: workers('podgc') },
  };
}
