// Service strategy: ClusterIPs from --service-cidr and NodePorts from
// --service-node-port-range, allocated in the same etcd transaction as the
// service (compare-and-swap on the allocator's key), so a value is never
// handed out twice, survives restarts, and is released on delete. The
// writes of one server share transactions (allocation-committer.ts).

import { InvalidError, type Cause } from '../../api/errors';
import type { Service, ServicePort } from '../../api/gen/tsk/v1/core';
import type { ApiObject } from '../../api/kinds';
import type { EtcdStore } from '../storage/etcd-store';
import { parsePortRange, parseServiceCidr, type Range } from './allocator';
import { AllocationCommitter, type Allocation, type Allocations } from './allocation-committer';
import type { PlanCommitter, PlannedOutcome, Planner, Strategy, TxnParts } from './strategy';

export const SERVICE_IPS_KEY = '/registry/ranges/serviceips';
export const NODE_PORTS_KEY = '/registry/ranges/servicenodeports';

export interface ServiceAllocatorConfig {
  serviceCidr: string;
  nodePortRange: string;
  random: () => number;
}

/** Types whose ports may have node ports (given by the user or allocated). */
function usesNodePorts(svc: Service): boolean {
  return svc.spec?.type === 'NodePort' || svc.spec?.type === 'LoadBalancer';
}

/** Whether ports without a node port get one: a LoadBalancer may opt out (allocateLoadBalancerNodePorts: false). */
function allocatesNodePorts(svc: Service): boolean {
  return svc.spec?.type === 'NodePort' || (svc.spec?.type === 'LoadBalancer' && svc.spec.allocateLoadBalancerNodePorts !== false);
}

/** Kubernetes' needsClusterIP: every type but ExternalName has the field (headless: "None"). */
function hasClusterIPField(svc: Service): boolean {
  return svc.spec?.type !== 'ExternalName';
}

/** Whether the service holds (or should get) an address of the range. */
function wantsClusterIP(svc: Service): boolean {
  return hasClusterIPField(svc) && svc.spec?.clusterIP !== 'None';
}

/** Kubernetes' NeedsHealthCheck: a LoadBalancer with externalTrafficPolicy Local gets a health check node port. */
function wantsHealthCheckNodePort(svc: Service): boolean {
  return svc.spec?.type === 'LoadBalancer' && svc.spec.externalTrafficPolicy === 'Local';
}

/** Every node port the service holds: its ports' and its health check's. */
function heldNodePorts(svc: Service): number[] {
  const ports = usesNodePorts(svc) ? (svc.spec?.ports ?? []).map((p) => p.nodePort ?? 0) : [];
  if (wantsHealthCheckNodePort(svc)) ports.push(svc.spec?.healthCheckNodePort ?? 0);
  return ports.filter((n) => n > 0);
}

export class ServiceAllocators implements PlanCommitter {
  readonly ipRange: Range;
  readonly portRange: Range;
  private readonly committer: AllocationCommitter;

  constructor(
    store: EtcdStore,
    private readonly config: ServiceAllocatorConfig,
  ) {
    this.ipRange = parseServiceCidr(config.serviceCidr);
    this.portRange = parsePortRange(config.nodePortRange);
    this.committer = new AllocationCommitter(store, [
      { key: SERVICE_IPS_KEY, range: this.ipRange, parse: parseServiceCidr },
      { key: NODE_PORTS_KEY, range: this.portRange, parse: parsePortRange },
    ]);
  }

  commit(type: string, operation: 'create' | 'update' | 'delete', build: (planner: Planner) => TxnParts | undefined): Promise<PlannedOutcome> {
    return this.committer.commit(type, operation, (allocations) => build(this.planner(allocations)));
  }

  dryRun(build: (planner: Planner) => void): Promise<void> {
    return this.committer.dryRun((allocations) => build(this.planner(allocations)));
  }

  private planner(allocations: Allocations): Planner {
    const ips = allocations.get(SERVICE_IPS_KEY)!;
    const ports = allocations.get(NODE_PORTS_KEY)!;
    return {
      create: (obj) => this.planCreate(ips, ports, obj as Service),
      update: (obj, old) => this.planUpdate(ips, ports, obj as Service, old as Service),
      delete: (old) => this.planDelete(ips, ports, old as Service),
    };
  }

  private allocateAny(l: Allocation): string | undefined {
    const slot = l.bitmap.nextFree(Math.floor(this.config.random() * l.range.size));
    if (slot < 0) return undefined;
    l.bitmap.set(slot);
    l.touched = true;
    return l.range.valueOf(slot);
  }

  /** Takes a requested value; a cause when it is out of range or taken. */
  private take(l: Allocation, value: string, field: string, what: 'IP' | 'port'): Cause | undefined {
    const slot = l.range.slotOf(value);
    if (slot < 0) {
      return {
        field,
        reason: 'FieldValueInvalid',
        message: `Invalid value: ${what === 'IP' ? `"${value}"` : value}: provided ${what} is not in the valid range. The range of valid ${what}s is ${l.range.spec}`,
      };
    }
    if (l.bitmap.has(slot))
      return { field, reason: 'FieldValueInvalid', message: `Invalid value: ${what === 'IP' ? `"${value}"` : value}: provided ${what} is already allocated` };
    l.bitmap.set(slot);
    l.touched = true;
    return undefined;
  }

  /** Releases a held value; touches the bitmap even when its bit is clear here (see Allocation.touched). */
  private release(l: Allocation, value: string | number | undefined): void {
    if (value === undefined || value === '' || value === 0 || value === 'None') return;
    const slot = l.range.slotOf(String(value));
    if (slot < 0) return;
    l.bitmap.clear(slot);
    l.touched = true;
  }

  /** Allocates (or takes the requested) ClusterIP and NodePorts; mutates svc. */
  private planCreate(ips: Allocation, ports: Allocation, svc: Service): void {
    const causes: Cause[] = [];
    const spec = (svc.spec ??= {});
    if (wantsClusterIP(svc)) this.assignClusterIP(ips, svc, causes);
    if (usesNodePorts(svc)) this.assignNodePorts(ports, spec.ports ?? [], new Set(), allocatesNodePorts(svc), causes);
    if (wantsHealthCheckNodePort(svc)) this.assignHealthCheckNodePort(ports, svc, new Set(), causes);
    if (causes.length > 0) throw new InvalidError('Service', svc.metadata?.name ?? '', causes);
  }

  /** Takes the requested ClusterIP or allocates one; clusterIPs follows. */
  private assignClusterIP(ips: Allocation, svc: Service, causes: Cause[]): void {
    const spec = (svc.spec ??= {});
    if (spec.clusterIP) {
      const c = this.take(ips, spec.clusterIP, 'spec.clusterIP', 'IP');
      if (c) causes.push(c);
    } else {
      const ip = this.allocateAny(ips);
      if (!ip) causes.push({ field: 'spec.clusterIP', reason: 'FieldValueInvalid', message: `no ClusterIPs left in ${ips.range.spec}` });
      else spec.clusterIP = ip;
    }
    if (spec.clusterIP) spec.clusterIPs = [spec.clusterIP];
  }

  private assignNodePorts(ports: Allocation, list: ServicePort[], keep: Set<number>, allocate: boolean, causes: Cause[]): void {
    list.forEach((p, i) => {
      if (p.nodePort) {
        if (keep.has(p.nodePort)) return;
        const c = this.take(ports, String(p.nodePort), `spec.ports[${i}].nodePort`, 'port');
        if (c) causes.push(c);
      } else if (allocate) {
        const port = this.allocateAny(ports);
        if (!port) causes.push({ field: `spec.ports[${i}].nodePort`, reason: 'FieldValueInvalid', message: `no node ports left in ${ports.range.spec}` });
        else p.nodePort = Number(port);
      }
    });
  }

  private assignHealthCheckNodePort(ports: Allocation, svc: Service, keep: Set<number>, causes: Cause[]): void {
    const spec = (svc.spec ??= {});
    if (spec.healthCheckNodePort) {
      if (keep.has(spec.healthCheckNodePort)) return;
      const c = this.take(ports, String(spec.healthCheckNodePort), 'spec.healthCheckNodePort', 'port');
      if (c) causes.push(c);
      return;
    }
    const port = this.allocateAny(ports);
    if (!port) causes.push({ field: 'spec.healthCheckNodePort', reason: 'FieldValueInvalid', message: `no node ports left in ${ports.range.spec}` });
    else spec.healthCheckNodePort = Number(port);
  }

  /**
   * A changed type moves allocations as Kubernetes does: to ExternalName
   * releases the ClusterIP, from it allocates one; node ports are kept while
   * the type has them, released otherwise, and new ports get theirs.
   */
  private planUpdate(ips: Allocation, ports: Allocation, svc: Service, old: Service): void {
    const causes: Cause[] = [];
    const spec = (svc.spec ??= {});
    if (wantsClusterIP(old) && !wantsClusterIP(svc)) this.release(ips, old.spec?.clusterIP);
    if (!wantsClusterIP(old) && wantsClusterIP(svc)) this.assignClusterIP(ips, svc, causes);
    const oldPorts = new Set(heldNodePorts(old));
    if (usesNodePorts(svc)) {
      this.assignNodePorts(ports, spec.ports ?? [], oldPorts, allocatesNodePorts(svc), causes);
    } else {
      for (const p of spec.ports ?? []) p.nodePort = 0;
    }
    if (wantsHealthCheckNodePort(svc)) this.assignHealthCheckNodePort(ports, svc, oldPorts, causes);
    else spec.healthCheckNodePort = 0;
    const kept = new Set(heldNodePorts(svc));
    for (const n of oldPorts) if (!kept.has(n)) this.release(ports, n);
    if (causes.length > 0) throw new InvalidError('Service', svc.metadata?.name ?? '', causes);
  }

  private planDelete(ips: Allocation, ports: Allocation, old: Service): void {
    if (wantsClusterIP(old)) this.release(ips, old.spec?.clusterIP);
    for (const n of heldNodePorts(old)) this.release(ports, n);
  }
}

/**
 * Kubernetes' dropTypeDependentFields: a type change clears the fields the
 * new type may not have, when the request carries them over unchanged from
 * the stored object (as an apply's three-way merge does): the ClusterIP and
 * IP families going to ExternalName, node ports going to ClusterIP, the
 * health check node port, the LoadBalancer-only fields.
 */
function dropTypeDependentFields(svc: Service, old: Service): void {
  const spec = (svc.spec ??= {});
  const was = old.spec ?? {};
  if (hasClusterIPField(old) && !hasClusterIPField(svc)) {
    if (!spec.clusterIP || spec.clusterIP === was.clusterIP) {
      spec.clusterIP = '';
      spec.clusterIPs = [];
    }
    if ((spec.ipFamilies ?? []).join(',') === (was.ipFamilies ?? []).join(',')) spec.ipFamilies = [];
    if ((spec.ipFamilyPolicy ?? '') === (was.ipFamilyPolicy ?? '')) spec.ipFamilyPolicy = '';
  }
  if (usesNodePorts(old) && !usesNodePorts(svc)) {
    const held = new Set((was.ports ?? []).map((p) => p.nodePort ?? 0));
    for (const p of spec.ports ?? []) if (p.nodePort && held.has(p.nodePort)) p.nodePort = 0;
  }
  if (wantsHealthCheckNodePort(old) && !wantsHealthCheckNodePort(svc) && spec.healthCheckNodePort === was.healthCheckNodePort) spec.healthCheckNodePort = 0;
  if (was.type === 'LoadBalancer' && spec.type !== 'LoadBalancer') {
    if (spec.allocateLoadBalancerNodePorts === was.allocateLoadBalancerNodePorts) delete spec.allocateLoadBalancerNodePorts;
    if (spec.loadBalancerClass === was.loadBalancerClass) delete spec.loadBalancerClass;
  }
  const external = spec.type === 'NodePort' || spec.type === 'LoadBalancer';
  if (!external && (was.type === 'NodePort' || was.type === 'LoadBalancer') && spec.externalTrafficPolicy === was.externalTrafficPolicy) {
    spec.externalTrafficPolicy = '';
  }
  if (!hasClusterIPField(svc) && spec.internalTrafficPolicy === was.internalTrafficPolicy) spec.internalTrafficPolicy = '';
  if (was.type === 'ExternalName' && spec.type !== 'ExternalName' && spec.externalName === was.externalName) spec.externalName = '';
}

export function serviceStrategy(alloc: ServiceAllocators): Strategy {
  return {
    prepareForCreate(obj: ApiObject): void {
      (obj as Service).status = {};
    },
    prepareForUpdate(obj: ApiObject, oldObj: ApiObject): void {
      const svc = obj as Service;
      const old = oldObj as Service;
      const spec = (svc.spec ??= {});
      dropTypeDependentFields(svc, old);
      // Fields the server set are kept when a client leaves them out (apply),
      // while the type still has them (Kubernetes' patchAllocatedValues).
      if (hasClusterIPField(svc) && hasClusterIPField(old)) {
        if (!spec.clusterIP) spec.clusterIP = old.spec?.clusterIP ?? '';
        if (!spec.clusterIPs || spec.clusterIPs.length === 0) spec.clusterIPs = old.spec?.clusterIPs ?? [];
      }
      if (usesNodePorts(svc) && usesNodePorts(old)) {
        for (const p of spec.ports ?? []) {
          if (p.nodePort) continue;
          const same = (old.spec?.ports ?? []).find((o) => o.port === p.port && (o.protocol || 'TCP') === (p.protocol || 'TCP'));
          if (same?.nodePort) p.nodePort = same.nodePort;
        }
      }
      if (wantsHealthCheckNodePort(svc) && wantsHealthCheckNodePort(old) && !spec.healthCheckNodePort) {
        spec.healthCheckNodePort = old.spec?.healthCheckNodePort ?? 0;
      }
      // A service that is no longer a LoadBalancer has no load balancer.
      if (svc.spec.type !== 'LoadBalancer' && svc.status?.loadBalancer) svc.status = { ...svc.status, loadBalancer: {} };
    },
    planned: alloc,
  };
}
