// Service strategy: ClusterIPs from --service-cidr and NodePorts from
// --service-node-port-range, allocated in the same etcd transaction as the
// service (compare-and-swap on the allocator's key), so a value is never
// handed out twice, survives restarts, and is released on delete.

import { InvalidError, type Cause } from '../../api/errors';
import type { Service, ServicePort } from '../../api/gen/tsk/v1/core';
import type { ApiObject } from '../../api/kinds';
import type { Compare, EtcdStore, Op } from '../storage/etcd-store';
import { Bitmap, decodeAllocation, encodeAllocation, parsePortRange, parseServiceCidr, type Range } from './allocator';
import type { Strategy, WritePlan } from './strategy';

export const SERVICE_IPS_KEY = '/registry/ranges/serviceips';
export const NODE_PORTS_KEY = '/registry/ranges/servicenodeports';

interface Loaded {
  readonly key: string;
  readonly range: Range;
  readonly bitmap: Bitmap;
  readonly modRevision: number;
  changed: boolean;
}

export interface ServiceAllocatorConfig {
  serviceCidr: string;
  nodePortRange: string;
  random: () => number;
}

function usesNodePorts(svc: Service): boolean {
  return svc.spec?.type === 'NodePort' || svc.spec?.type === 'LoadBalancer';
}

/** Headless and ExternalName Services have no cluster IP. */
function wantsClusterIP(svc: Service): boolean {
  return svc.spec?.clusterIP !== 'None' && svc.spec?.type !== 'ExternalName';
}

export class ServiceAllocators {
  readonly ipRange: Range;
  readonly portRange: Range;

  constructor(
    private readonly store: EtcdStore,
    private readonly config: ServiceAllocatorConfig,
  ) {
    this.ipRange = parseServiceCidr(config.serviceCidr);
    this.portRange = parsePortRange(config.nodePortRange);
  }

  private async load(key: string, range: Range, parse: (spec: string) => Range): Promise<Loaded> {
    const { kv } = await this.store.get(key, 'ranges');
    return { key, range, bitmap: decodeAllocation(range, kv?.value, parse), modRevision: kv?.modRevision ?? 0, changed: false };
  }

  private plan(loaded: Loaded[]): WritePlan {
    const compares: Compare[] = [];
    const ops: Op[] = [];
    for (const l of loaded) {
      if (!l.changed) continue;
      compares.push({ key: l.key, modRevision: l.modRevision });
      ops.push({ put: l.key, value: encodeAllocation(l.range, l.bitmap) });
    }
    return { compares, ops };
  }

  private allocateAny(l: Loaded): string | undefined {
    const slot = l.bitmap.nextFree(Math.floor(this.config.random() * l.range.size));
    if (slot < 0) return undefined;
    l.bitmap.set(slot);
    l.changed = true;
    return l.range.valueOf(slot);
  }

  /** Takes a requested value; a cause when it is out of range or taken. */
  private take(l: Loaded, value: string, field: string, what: 'IP' | 'port'): Cause | undefined {
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
    l.changed = true;
    return undefined;
  }

  private release(l: Loaded, value: string | number | undefined): void {
    if (value === undefined || value === '' || value === 0 || value === 'None') return;
    const slot = l.range.slotOf(String(value));
    if (slot >= 0 && l.bitmap.has(slot)) {
      l.bitmap.clear(slot);
      l.changed = true;
    }
  }

  private loadIps(): Promise<Loaded> {
    return this.load(SERVICE_IPS_KEY, this.ipRange, parseServiceCidr);
  }

  private loadPorts(): Promise<Loaded> {
    return this.load(NODE_PORTS_KEY, this.portRange, parsePortRange);
  }

  /** Allocates (or takes the requested) ClusterIP and NodePorts; mutates svc. */
  async planCreate(svc: Service): Promise<WritePlan> {
    const [ips, ports] = await Promise.all([this.loadIps(), this.loadPorts()]);
    const causes: Cause[] = [];
    const spec = (svc.spec ??= {});
    if (wantsClusterIP(svc)) {
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
    if (usesNodePorts(svc)) this.assignNodePorts(ports, spec.ports ?? [], new Set(), causes);
    if (causes.length > 0) throw new InvalidError('Service', svc.metadata?.name ?? '', causes);
    return this.plan([ips, ports]);
  }

  private assignNodePorts(ports: Loaded, list: ServicePort[], keep: Set<number>, causes: Cause[]): void {
    list.forEach((p, i) => {
      if (p.nodePort) {
        if (keep.has(p.nodePort)) return;
        const c = this.take(ports, String(p.nodePort), `spec.ports[${i}].nodePort`, 'port');
        if (c) causes.push(c);
      } else {
        const port = this.allocateAny(ports);
        if (!port) causes.push({ field: `spec.ports[${i}].nodePort`, reason: 'FieldValueInvalid', message: `no node ports left in ${ports.range.spec}` });
        else p.nodePort = Number(port);
      }
    });
  }

  async planUpdate(svc: Service, old: Service): Promise<WritePlan> {
    const [ips, ports] = await Promise.all([this.loadIps(), this.loadPorts()]);
    const causes: Cause[] = [];
    const spec = (svc.spec ??= {});
    const oldPorts = usesNodePorts(old) ? (old.spec?.ports ?? []).map((p) => p.nodePort ?? 0).filter((n) => n > 0) : [];
    if (usesNodePorts(svc)) {
      this.assignNodePorts(ports, spec.ports ?? [], new Set(oldPorts), causes);
    } else {
      for (const p of spec.ports ?? []) p.nodePort = 0;
    }
    const kept = new Set(usesNodePorts(svc) ? (spec.ports ?? []).map((p) => p.nodePort ?? 0) : []);
    for (const n of oldPorts) if (!kept.has(n)) this.release(ports, n);
    if (causes.length > 0) throw new InvalidError('Service', svc.metadata?.name ?? '', causes);
    return this.plan([ips, ports]);
  }

  async planDelete(old: Service): Promise<WritePlan> {
    const [ips, ports] = await Promise.all([this.loadIps(), this.loadPorts()]);
    if (wantsClusterIP(old)) this.release(ips, old.spec?.clusterIP);
    if (usesNodePorts(old)) for (const p of old.spec?.ports ?? []) this.release(ports, p.nodePort);
    return this.plan([ips, ports]);
  }
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
      // Fields the server set are kept when a client leaves them out (apply).
      if (!spec.clusterIP) spec.clusterIP = old.spec?.clusterIP ?? '';
      if (!spec.clusterIPs || spec.clusterIPs.length === 0) spec.clusterIPs = old.spec?.clusterIPs ?? [];
      if (spec.clusterIP !== old.spec?.clusterIP) {
        throw new InvalidError('Service', svc.metadata?.name ?? '', [
          { field: 'spec.clusterIP', reason: 'FieldValueInvalid', message: `Invalid value: "${spec.clusterIP}": field is immutable` },
        ]);
      }
      if (usesNodePorts(svc) && usesNodePorts(old)) {
        for (const p of spec.ports ?? []) {
          if (p.nodePort) continue;
          const same = (old.spec?.ports ?? []).find((o) => o.port === p.port && (o.protocol || 'TCP') === (p.protocol || 'TCP'));
          if (same?.nodePort) p.nodePort = same.nodePort;
        }
      }
    },
    planCreate: (obj) => alloc.planCreate(obj as Service),
    planUpdate: (obj, old) => alloc.planUpdate(obj as Service, old as Service),
    planDelete: (old) => alloc.planDelete(old as Service),
  };
}
