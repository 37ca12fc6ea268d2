// Service validation (Kubernetes' ValidateService and ValidateServiceUpdate),
// for the types tsk implements: ClusterIP and NodePort. The cluster IP is
// "", "None" (headless) or an address, and never changes once set; node
// ports are in 30000-32767 and only for NodePort services.

import type { Cause } from '../../api/errors';
import type { Service, ServicePort } from '../../api/gen/tsk/v1/core';
import { isDNS1123Label, isDNS1123Subdomain } from '../../api/labels';
import { duplicate, forbidden, invalid, invalidEach, notSupported, Path, required } from './field';
import { nameIsDNS1035Label, validateLabels, validateObjectMeta, validateObjectMetaUpdate } from './meta';
import { SUPPORTED_PROTOCOLS, validateEnum, validatePortNumOrName } from './pod';
import { IMMUTABLE_MSG, ipFamily, isValidIP, isValidPortNum, nonSpecialIP } from './values';

export const SUPPORTED_SERVICE_TYPES = ['ClusterIP', 'NodePort', 'ExternalName'];
const SESSION_AFFINITIES = ['ClientIP', 'None'];
const TRAFFIC_POLICIES = ['Cluster', 'Local'];
const IP_FAMILY_POLICIES = ['SingleStack', 'PreferDualStack', 'RequireDualStack'];
const IP_FAMILIES = ['IPv4', 'IPv6'];
/** Kubernetes' default --service-node-port-range. */
export const NODE_PORT_MIN = 30000;
export const NODE_PORT_MAX = 32767;
/** Kubernetes' limit on ClientIP affinity timeouts (one day). */
const MAX_CLIENT_IP_TIMEOUT_SECONDS = 86400;

const isHeadless = (svc: Service): boolean => svc.spec?.clusterIP === 'None';
const isExternalName = (svc: Service): boolean => svc.spec?.type === 'ExternalName';

function validatePort(sp: ServicePort, requireName: boolean, names: Set<string>, path: Path): Cause[] {
  const errs: Cause[] = [];
  const name = sp.name ?? '';
  if (requireName && !name) {
    errs.push(required(path.child('name')));
  } else if (name) {
    errs.push(...invalidEach(path.child('name'), name, isDNS1123Label(name)));
    if (names.has(name)) errs.push(duplicate(path.child('name'), name));
    else names.add(name);
  }
  const port = sp.port ?? 0;
  errs.push(...invalidEach(path.child('port'), port, isValidPortNum(port)));
  errs.push(...validateEnum(sp.protocol, SUPPORTED_PROTOCOLS, path.child('protocol')));
  errs.push(...validatePortNumOrName(sp.targetPort, path.child('targetPort')));
  return errs;
}

function validateClusterIPs(svc: Service, path: Path): Cause[] {
  const spec = svc.spec ?? {};
  const errs: Cause[] = [];
  const ip = spec.clusterIP ?? '';
  if (ip && ip !== 'None') errs.push(...invalidEach(path.child('clusterIP'), ip, isValidIP(ip)));
  const ips = spec.clusterIPs ?? [];
  if (ips.length > 0) {
    if (ip && ips[0] !== ip) errs.push(invalid(path.child('clusterIPs'), ips, 'first value must match `clusterIP`'));
    if (ips.length > 2) errs.push(invalid(path.child('clusterIPs'), ips, 'may only hold up to 2 values'));
    ips.forEach((v, i) => {
      if (i === 0 && v === 'None') return;
      errs.push(...invalidEach(path.child('clusterIPs').index(i), v, isValidIP(v)));
    });
    if (ips.length === 2 && ipFamily(ips[0]!) !== 0 && ipFamily(ips[0]!) === ipFamily(ips[1]!)) {
      errs.push(invalid(path.child('clusterIPs'), ips, 'may specify no more than one IP for each IP family'));
    }
  }
  if (isHeadless(svc) && spec.type === 'NodePort') {
    errs.push(invalid(path.child('clusterIP'), ip, "may not be set to 'None' for NodePort services"));
  }
  if (spec.ipFamilyPolicy && !IP_FAMILY_POLICIES.includes(spec.ipFamilyPolicy)) {
    errs.push(notSupported(path.child('ipFamilyPolicy'), spec.ipFamilyPolicy, IP_FAMILY_POLICIES));
  }
  (spec.ipFamilies ?? []).forEach((f, i) => {
    if (!IP_FAMILIES.includes(f)) errs.push(notSupported(path.child('ipFamilies').index(i), f, IP_FAMILIES));
  });
  return errs;
}

function validatePorts(svc: Service, path: Path): Cause[] {
  const spec = svc.spec ?? {};
  const ports = spec.ports ?? [];
  const errs: Cause[] = [];
  const pPath = path.child('ports');
  if (ports.length === 0 && !isHeadless(svc) && !isExternalName(svc)) errs.push(required(pPath));
  const names = new Set<string>();
  ports.forEach((p, i) => errs.push(...validatePort(p, ports.length > 1, names, pPath.index(i))));
  const nodePorts = new Set<string>();
  const portKeys = new Set<string>();
  ports.forEach((p, i) => {
    const path = pPath.index(i);
    const nodePort = p.nodePort ?? 0;
    if (nodePort !== 0) {
      if (spec.type === 'ClusterIP') {
        errs.push(forbidden(path.child('nodePort'), "may not be used when `type` is 'ClusterIP'"));
      } else if (nodePort < NODE_PORT_MIN || nodePort > NODE_PORT_MAX) {
        errs.push(
          invalid(path.child('nodePort'), nodePort, `provided port is not in the valid range. The range of valid ports is ${NODE_PORT_MIN}-${NODE_PORT_MAX}`),
        );
      }
      const key = `${p.protocol ?? ''}/${nodePort}`;
      if (nodePorts.has(key)) errs.push(duplicate(path.child('nodePort'), nodePort));
      nodePorts.add(key);
    }
    const key = `${p.protocol ?? ''}/${p.port ?? 0}`;
    if (portKeys.has(key)) errs.push(duplicate(path, { port: p.port ?? 0, protocol: p.protocol ?? '' }));
    portKeys.add(key);
  });
  return errs;
}

function validateSpec(svc: Service): Cause[] {
  const path = Path.root('spec');
  const spec = svc.spec ?? {};
  const errs: Cause[] = [];
  errs.push(...validateEnum(spec.type, SUPPORTED_SERVICE_TYPES, path.child('type')));
  errs.push(...validatePorts(svc, path));
  errs.push(...validateLabels(spec.selector, path.child('selector')));
  errs.push(...validateEnum(spec.sessionAffinity, SESSION_AFFINITIES, path.child('sessionAffinity')));
  const cfgPath = path.child('sessionAffinityConfig');
  if (spec.sessionAffinity === 'ClientIP') {
    const timeout = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds;
    if (timeout === undefined || timeout === null) {
      errs.push(required(cfgPath.child('clientIP', 'timeoutSeconds')));
    } else if (timeout <= 0 || timeout > MAX_CLIENT_IP_TIMEOUT_SECONDS) {
      errs.push(invalid(cfgPath.child('clientIP', 'timeoutSeconds'), timeout, `must be greater than 0 and less than ${MAX_CLIENT_IP_TIMEOUT_SECONDS}`));
    }
  } else if (spec.sessionAffinity === 'None' && spec.sessionAffinityConfig?.clientIP) {
    errs.push(forbidden(cfgPath, 'must not be set when session affinity is None'));
  }
  errs.push(...validateClusterIPs(svc, path));
  errs.push(...validateExternalName(svc, path));
  (spec.externalIPs ?? []).forEach((ip, i) => {
    const p = path.child('externalIPs').index(i);
    const bad = isValidIP(ip);
    errs.push(...invalidEach(p, ip, bad.length > 0 ? bad : nonSpecialIP(ip)));
  });
  if (spec.externalTrafficPolicy && !TRAFFIC_POLICIES.includes(spec.externalTrafficPolicy)) {
    errs.push(notSupported(path.child('externalTrafficPolicy'), spec.externalTrafficPolicy, TRAFFIC_POLICIES));
  }
  if (spec.internalTrafficPolicy && !TRAFFIC_POLICIES.includes(spec.internalTrafficPolicy)) {
    errs.push(notSupported(path.child('internalTrafficPolicy'), spec.internalTrafficPolicy, TRAFFIC_POLICIES));
  }
  return errs;
}

/**
 * type ExternalName: an alias (a DNS CNAME) with no cluster IP of its own; its
 * externalName is a DNS subdomain, a trailing dot allowed (Kubernetes' ValidateService).
 */
function validateExternalName(svc: Service, path: Path): Cause[] {
  if (!isExternalName(svc)) return [];
  const errs: Cause[] = [];
  const spec = svc.spec ?? {};
  if (spec.clusterIP || (spec.clusterIPs ?? []).length > 0) errs.push(forbidden(path.child('clusterIPs'), 'may not be set for ExternalName services'));
  const name = spec.externalName ?? '';
  if (name === '') errs.push(required(path.child('externalName')));
  else errs.push(...invalidEach(path.child('externalName'), name, isDNS1123Subdomain(name.replace(/\.$/, ''))));
  return errs;
}

export function validateService(svc: Service): Cause[] {
  return [...validateObjectMeta(svc.metadata, true, nameIsDNS1035Label, Path.root('metadata')), ...validateSpec(svc)];
}

/**
 * ValidateServiceUpdate: a cluster IP, once allocated, stays. The server
 * carries the allocated IP over when a request leaves it out (as Kubernetes'
 * PrepareForUpdate), so a difference here is a real attempt to change it.
 */
export function validateServiceUpdate(svc: Service, old: Service): Cause[] {
  const errs = [...validateObjectMetaUpdate(svc.metadata, old.metadata, Path.root('metadata')), ...validateSpec(svc)];
  const oldIP = old.spec?.clusterIP ?? '';
  const newIP = svc.spec?.clusterIP ?? '';
  if (oldIP && newIP !== oldIP) errs.push(invalid(Path.root('spec', 'clusterIP'), newIP, IMMUTABLE_MSG));
  const oldIPs = old.spec?.clusterIPs ?? [];
  const newIPs = svc.spec?.clusterIPs ?? [];
  if (oldIPs.length > 0 && newIPs.length > 0 && newIPs[0] !== oldIPs[0]) {
    errs.push(invalid(Path.root('spec', 'clusterIPs').index(0), newIPs, 'may not change once set'));
  }
  return errs;
}
