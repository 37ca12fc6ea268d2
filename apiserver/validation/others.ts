// Validation of the smaller kinds: Endpoints, Node, Namespace and Event
// (Kubernetes' ValidateEndpoints, ValidateNode, ValidateNamespace and the
// legacy core/v1 event rules).

import type { Cause } from '../../api/errors';
import type { EndpointAddress, EndpointPort, Endpoints, Event, Namespace, Node } from '../../api/gen/tsk/v1/core';
import { isDNS1123Label, isDNS1123Subdomain, isQualifiedName, validateLabelValue } from '../../api/labels';
import { duplicateWithDetail, forbidden, invalid, invalidEach, notSupported, Path, required } from './field';
import { nameIsDNSLabel, nameIsDNSSubdomain, validateObjectMeta, validateObjectMetaUpdate } from './meta';
import { SUPPORTED_PROTOCOLS, validateEnum, validateTaintEffect } from './pod';
import { validateResourceName, validateResourceQuantity } from './resources';
import { isValidCIDR, isValidIP, isValidPortNum, nonSpecialIP } from './values';

// ---------------------------------------------------------------- Endpoints

function validateAddress(a: EndpointAddress, path: Path): Cause[] {
  const errs: Cause[] = [];
  const ip = a.ip ?? '';
  const bad = isValidIP(ip);
  errs.push(...invalidEach(path.child('ip'), ip, bad.length > 0 ? bad : nonSpecialIP(ip)));
  if (a.hostname) errs.push(...invalidEach(path.child('hostname'), a.hostname, isDNS1123Label(a.hostname)));
  if (a.nodeName) errs.push(...invalidEach(path.child('nodeName'), a.nodeName, isDNS1123Subdomain(a.nodeName)));
  return errs;
}

function validateEndpointPort(p: EndpointPort, requireName: boolean, path: Path): Cause[] {
  const errs: Cause[] = [];
  const name = p.name ?? '';
  if (requireName && !name) errs.push(required(path.child('name')));
  else if (name) errs.push(...invalidEach(path.child('name'), name, isDNS1123Label(name)));
  const port = p.port ?? 0;
  errs.push(...invalidEach(path.child('port'), port, isValidPortNum(port)));
  errs.push(...validateEnum(p.protocol, SUPPORTED_PROTOCOLS, path.child('protocol')));
  return errs;
}

function validateSubsets(ep: Endpoints): Cause[] {
  const errs: Cause[] = [];
  const path = Path.root('subsets');
  (ep.subsets ?? []).forEach((ss, i) => {
    const p = path.index(i);
    const addresses = ss.addresses ?? [];
    const notReady = ss.notReadyAddresses ?? [];
    if (addresses.length === 0 && notReady.length === 0) errs.push(required(p, 'must specify `addresses` or `notReadyAddresses`'));
    addresses.forEach((a, j) => errs.push(...validateAddress(a, p.child('addresses').index(j))));
    notReady.forEach((a, j) => errs.push(...validateAddress(a, p.child('notReadyAddresses').index(j))));
    const ports = ss.ports ?? [];
    ports.forEach((port, j) => errs.push(...validateEndpointPort(port, ports.length > 1, p.child('ports').index(j))));
  });
  return errs;
}

export function validateEndpoints(ep: Endpoints): Cause[] {
  return [...validateObjectMeta(ep.metadata, true, nameIsDNSSubdomain, Path.root('metadata')), ...validateSubsets(ep)];
}

export function validateEndpointsUpdate(ep: Endpoints, old: Endpoints): Cause[] {
  return [...validateObjectMetaUpdate(ep.metadata, old.metadata, Path.root('metadata')), ...validateSubsets(ep)];
}

// ---------------------------------------------------------------- Node

/** podCIDRs, with the single podCIDR field as its first entry. */
function podCIDRs(node: Node): string[] {
  const list = node.spec?.podCIDRs ?? [];
  if (list.length > 0) return list;
  return node.spec?.podCIDR ? [node.spec.podCIDR] : [];
}

const NODE_ADDRESS_TYPES = ['ExternalDNS', 'ExternalIP', 'Hostname', 'InternalDNS', 'InternalIP'];

function validateNodeFields(node: Node): Cause[] {
  const errs: Cause[] = [];
  const spec = Path.root('spec');
  const cidr = node.spec?.podCIDR ?? '';
  if (cidr) errs.push(...invalidEach(spec.child('podCIDR'), cidr, isValidCIDR(cidr)));
  const cidrs = node.spec?.podCIDRs ?? [];
  cidrs.forEach((c, i) => errs.push(...invalidEach(spec.child('podCIDRs').index(i), c, isValidCIDR(c))));
  if (cidr && cidrs.length > 0 && cidrs[0] !== cidr) errs.push(invalid(spec.child('podCIDRs'), cidrs, 'first value must match `podCIDR`'));
  const taintKeys = new Map<string, Set<string>>();
  (node.spec?.taints ?? []).forEach((t, i) => {
    const p = spec.child('taints').index(i);
    errs.push(...invalidEach(p.child('key'), t.key ?? '', isQualifiedName(t.key ?? '')));
    const valueErrs = validateLabelValue(t.value ?? '');
    if (valueErrs.length > 0) errs.push(invalid(p.child('value'), t.value ?? '', valueErrs.join(';')));
    errs.push(...validateTaintEffect(t.effect, false, p.child('effect')));
    const effect = t.effect ?? '';
    const keys = taintKeys.get(effect) ?? new Set<string>();
    if (keys.has(t.key ?? '')) {
      errs.push(duplicateWithDetail(p, t, 'taints must be unique by key and effect pair'));
      return;
    }
    keys.add(t.key ?? '');
    taintKeys.set(effect, keys);
  });
  const status = Path.root('status');
  for (const field of ['capacity', 'allocatable'] as const) {
    for (const [name, value] of Object.entries(node.status?.[field] ?? {})) {
      const p = status.child(field, name);
      errs.push(...validateResourceName(name, p));
      errs.push(...validateResourceQuantity(name, value, p).errs);
    }
  }
  (node.status?.addresses ?? []).forEach((a, i) => {
    const p = status.child('addresses').index(i);
    if (a.type && !NODE_ADDRESS_TYPES.includes(a.type)) errs.push(notSupported(p.child('type'), a.type, NODE_ADDRESS_TYPES));
    if (!a.address) errs.push(required(p.child('address')));
  });
  return errs;
}

export function validateNode(node: Node): Cause[] {
  return [...validateObjectMeta(node.metadata, false, nameIsDNSSubdomain, Path.root('metadata')), ...validateNodeFields(node)];
}

/** A node's pod CIDRs and provider ID may be set once, never changed. */
export function validateNodeUpdate(node: Node, old: Node): Cause[] {
  const errs = [...validateObjectMetaUpdate(node.metadata, old.metadata, Path.root('metadata')), ...validateNodeFields(node)];
  const before = podCIDRs(old);
  const after = podCIDRs(node);
  if (before.length > 0 && (before.length !== after.length || before.some((c, i) => c !== after[i]))) {
    errs.push(forbidden(Path.root('spec', 'podCIDRs'), 'node updates may not change podCIDR except from "" to valid'));
  }
  const oldProvider = old.spec?.providerID ?? '';
  if (oldProvider && oldProvider !== (node.spec?.providerID ?? '')) {
    errs.push(forbidden(Path.root('spec', 'providerID'), 'node updates may not change providerID except from "" to valid'));
  }
  return errs;
}

// ---------------------------------------------------------------- Namespace

const NAMESPACE_PHASES = ['Active', 'Terminating'];

function validateNamespaceFields(ns: Namespace): Cause[] {
  const errs: Cause[] = [];
  const path = Path.root('spec', 'finalizers');
  for (const f of ns.spec?.finalizers ?? []) {
    const msgs = isQualifiedName(f);
    if (msgs.length > 0) errs.push(...invalidEach(path, f, msgs));
    else if (!f.includes('/') && f !== 'kubernetes') errs.push(invalid(path, f, 'name is neither a standard finalizer name nor is it fully qualified'));
  }
  const phase = ns.status?.phase;
  if (phase && !NAMESPACE_PHASES.includes(phase)) errs.push(notSupported(Path.root('status', 'phase'), phase, NAMESPACE_PHASES));
  return errs;
}

export function validateNamespace(ns: Namespace): Cause[] {
  return [...validateObjectMeta(ns.metadata, false, nameIsDNSLabel, Path.root('metadata')), ...validateNamespaceFields(ns)];
}

/** A namespace is Active until deleted, then Terminating (ValidateNamespaceStatusUpdate). */
export function validateNamespaceUpdate(ns: Namespace, old: Namespace): Cause[] {
  const errs = [...validateObjectMetaUpdate(ns.metadata, old.metadata, Path.root('metadata')), ...validateNamespaceFields(ns)];
  const phase = ns.status?.phase ?? '';
  const phasePath = Path.root('status', 'phase');
  if (phase && NAMESPACE_PHASES.includes(phase)) {
    if (!ns.metadata?.deletionTimestamp && phase !== 'Active') {
      errs.push(invalid(phasePath, phase, "may only be 'Active' if `deletionTimestamp` is empty"));
    } else if (ns.metadata?.deletionTimestamp && phase !== 'Terminating') {
      errs.push(invalid(phasePath, phase, "may only be 'Terminating' if `deletionTimestamp` is not empty"));
    }
  }
  return errs;
}

// ---------------------------------------------------------------- Event

const EVENT_TYPES = ['Normal', 'Warning'];

function validateEventFields(ev: Event): Cause[] {
  const errs: Cause[] = [];
  const io = ev.involvedObject;
  if (!io || (!io.kind && !io.name)) {
    errs.push(required(Path.root('involvedObject')));
  } else {
    const eventNs = ev.metadata?.namespace ?? '';
    const objNs = io.namespace ?? '';
    // A cluster-scoped object's events live in "default" (or nowhere).
    const ok = objNs ? objNs === eventNs : eventNs === '' || eventNs === 'default';
    if (!ok) errs.push(invalid(Path.root('involvedObject', 'namespace'), objNs, 'does not match event.namespace'));
  }
  if (ev.type && !EVENT_TYPES.includes(ev.type)) errs.push(notSupported(Path.root('type'), ev.type, EVENT_TYPES));
  const count = ev.count ?? 0;
  if (count < 0) errs.push(invalid(Path.root('count'), count, 'must be greater than or equal to 0'));
  return errs;
}

export function validateEvent(ev: Event): Cause[] {
  return [...validateObjectMeta(ev.metadata, true, nameIsDNSSubdomain, Path.root('metadata')), ...validateEventFields(ev)];
}

/** Legacy (core/v1) events may be updated (count, lastTimestamp, message) by recorders. */
export function validateEventUpdate(ev: Event, old: Event): Cause[] {
  return [...validateObjectMetaUpdate(ev.metadata, old.metadata, Path.root('metadata')), ...validateEventFields(ev)];
}
