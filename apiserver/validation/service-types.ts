// The parts of Kubernetes' ValidateService that depend on the Service's type
// beyond ClusterIP and NodePort: LoadBalancer (node ports, source ranges,
// loadBalancerClass, the health check node port) and ExternalName (a DNS
// name and no cluster IP), and ValidateServiceStatusUpdate's check of the
// load balancer ingress a controller publishes.

import type { Cause } from '../../api/errors';
import type { LoadBalancerIngress, Service } from '../../api/gen/tsk/v1/core';
import { isDNS1123Subdomain, isQualifiedName } from '../../api/labels';
import { forbidden, invalid, invalidEach, notSupported, Path, required } from './field';
import { isValidCIDR, isValidIP, isValidPortNum } from './values';

/** The kubelet's port: a LoadBalancer may not expose it (Kubernetes' ports.KubeletPort). */
export const KUBELET_PORT = 10250;
const IP_MODES = ['VIP', 'Proxy'];

export const isLoadBalancer = (svc: Service): boolean => svc.spec?.type === 'LoadBalancer';
export const isExternalName = (svc: Service): boolean => svc.spec?.type === 'ExternalName';

/** Kubernetes' apiservice.NeedsHealthCheck: a LoadBalancer that keeps traffic on the node it reached. */
export function needsHealthCheck(svc: Service): boolean {
  return isLoadBalancer(svc) && svc.spec?.externalTrafficPolicy === 'Local';
}

function validateLoadBalancerFields(svc: Service, path: Path): Cause[] {
  const spec = svc.spec ?? {};
  const errs: Cause[] = [];
  if (isLoadBalancer(svc)) {
    if (spec.clusterIP === 'None') errs.push(invalid(path.child('clusterIP'), 'None', "may not be set to 'None' for LoadBalancer services"));
    (spec.ports ?? []).forEach((p, i) => {
      if (p.port === KUBELET_PORT) {
        errs.push(invalid(path.child('ports').index(i), p.port, `may not expose port ${KUBELET_PORT} externally since it is used by kubelet`));
      }
    });
    if (spec.allocateLoadBalancerNodePorts === undefined) errs.push(required(path.child('allocateLoadBalancerNodePorts')));
    if (spec.loadBalancerClass !== undefined)
      errs.push(...invalidEach(path.child('loadBalancerClass'), spec.loadBalancerClass, isQualifiedName(spec.loadBalancerClass)));
    if (spec.loadBalancerIP) errs.push(...invalidEach(path.child('loadBalancerIP'), spec.loadBalancerIP, isValidIP(spec.loadBalancerIP)));
  } else {
    if (spec.allocateLoadBalancerNodePorts !== undefined) {
      errs.push(forbidden(path.child('allocateLoadBalancerNodePorts'), "may only be used when `type` is 'LoadBalancer'"));
    }
    if (spec.loadBalancerClass !== undefined) errs.push(forbidden(path.child('loadBalancerClass'), "may only be used when `type` is 'LoadBalancer'"));
  }
  const ranges = spec.loadBalancerSourceRanges ?? [];
  if (ranges.length > 0) {
    // Kubernetes' historical path (from the annotation it replaced), capital L included.
    const rPath = path.child('LoadBalancerSourceRanges');
    if (!isLoadBalancer(svc)) errs.push(forbidden(rPath, "may only be used when `type` is 'LoadBalancer'"));
    ranges.forEach((r, i) => errs.push(...invalidEach(rPath.index(i), r, isValidCIDR(r.trim()))));
  }
  const hc = spec.healthCheckNodePort ?? 0;
  if (hc !== 0) {
    if (!needsHealthCheck(svc)) {
      errs.push(invalid(path.child('healthCheckNodePort'), hc, "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"));
    } else {
      errs.push(...invalidEach(path.child('healthCheckNodePort'), hc, isValidPortNum(hc)));
    }
  }
  return errs;
}

function validateExternalNameFields(svc: Service, path: Path): Cause[] {
  const spec = svc.spec ?? {};
  if (!isExternalName(svc)) return [];
  const errs: Cause[] = [];
  if (spec.clusterIP || (spec.clusterIPs ?? []).length > 0) errs.push(forbidden(path.child('clusterIPs'), 'may not be set for ExternalName services'));
  if ((spec.ipFamilies ?? []).length > 0) errs.push(forbidden(path.child('ipFamilies'), 'may not be set for ExternalName services'));
  if (spec.ipFamilyPolicy) errs.push(forbidden(path.child('ipFamilyPolicy'), 'may not be set for ExternalName services'));
  // The name may end with a dot (fully qualified).
  const cname = (spec.externalName ?? '').replace(/\.$/, '');
  if (cname === '') errs.push(required(path.child('externalName')));
  else errs.push(...invalidEach(path.child('externalName'), cname, isDNS1123Subdomain(cname)));
  return errs;
}

/** Type-dependent rules of spec (the caller checks the type itself is supported). */
export function validateServiceTypeFields(svc: Service, path: Path): Cause[] {
  return [...validateLoadBalancerFields(svc, path), ...validateExternalNameFields(svc, path)];
}

/** Kubernetes' ValidateLoadBalancerStatus: each ingress an IP or a hostname, ipMode only with an IP. */
export function validateLoadBalancerStatus(svc: Service): Cause[] {
  const path = Path.root('status', 'loadBalancer', 'ingress');
  const ingress: LoadBalancerIngress[] = svc.status?.loadBalancer?.ingress ?? [];
  const errs: Cause[] = [];
  if (ingress.length > 0 && !isLoadBalancer(svc)) errs.push(forbidden(path, "may only be used when `spec.type` is 'LoadBalancer'"));
  ingress.forEach((ing, i) => {
    const p = path.index(i);
    if (ing.ip) errs.push(...invalidEach(p.child('ip'), ing.ip, isValidIP(ing.ip)));
    if (ing.ipMode) {
      if (!ing.ip) errs.push(required(p.child('ip'), 'must be specified when `ipMode` is set'));
      else if (!IP_MODES.includes(ing.ipMode)) errs.push(notSupported(p.child('ipMode'), ing.ipMode, IP_MODES));
    }
    if (ing.hostname) {
      errs.push(...invalidEach(p.child('hostname'), ing.hostname, isDNS1123Subdomain(ing.hostname)));
      if (isValidIP(ing.hostname).length === 0) errs.push(invalid(p.child('hostname'), ing.hostname, 'must be a DNS name, not an IP address'));
    }
  });
  return errs;
}
