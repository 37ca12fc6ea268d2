// Resource names and quantities (Kubernetes' ValidateResourceRequirements,
// validateContainerResourceName, ValidateResourceQuantityValue).

import type { Cause } from '../../api/errors';
import type { PodSpec, ResourceRequirements } from '../../api/gen/tsk/v1/core';
import { isQualifiedName } from '../../api/labels';
import {
  aggregateContainerLimits,
  aggregateContainerRequests,
  isSupportedPodLevelResource,
  POD_PIDS_RESOURCE,
  podPidsLimitErrors,
  SUPPORTED_POD_LEVEL_RESOURCES,
} from '../../api/pod-resources';
import { parseQuantity, QuantityParseError, type Quantity } from '../../api/quantity';
import { forbidden, invalid, invalidEach, notSupported, type Path, required } from './field';
import { NONNEGATIVE_MSG } from './values';

/** Resources a container may request without a domain prefix. */
const STANDARD_CONTAINER_RESOURCES = new Set(['cpu', 'memory', 'ephemeral-storage']);
/** Every unprefixed resource name Kubernetes knows (nodes report pods too). */
const STANDARD_RESOURCES = new Set([...STANDARD_CONTAINER_RESOURCES, 'pods', 'storage']);

const isHugePages = (name: string): boolean => name.startsWith('hugepages-');

/** Native: unprefixed or in the kubernetes.io domain. */
function isNative(name: string): boolean {
  return !name.includes('/') || name.includes('kubernetes.io/');
}

/** A vendor's resource (example.com/gpu): prefixed, not native, a valid name. */
export function isExtendedResourceName(name: string): boolean {
  if (isNative(name) || name.startsWith('requests.')) return false;
  return isQualifiedName(`requests.${name}`).length === 0;
}

/** Requests may be below limits only for native, non-hugepage resources. */
function isOvercommitAllowed(name: string): boolean {
  return isNative(name) && !isHugePages(name);
}

/** validateResourceName: a qualified name, and a known one when unprefixed. */
export function validateResourceName(name: string, path: Path): Cause[] {
  const errs = invalidEach(path, name, isQualifiedName(name));
  if (errs.length > 0) return errs;
  if (!name.includes('/') && !STANDARD_RESOURCES.has(name) && !isHugePages(name)) {
    return [invalid(path, name, 'must be a standard resource type or fully qualified')];
  }
  return [];
}

function validateContainerResourceName(name: string, path: Path): Cause[] {
  if (name === POD_PIDS_RESOURCE) return [forbidden(path, 'pids may only be set as a pod-level limit (spec.resources.limits)')];
  const errs = validateResourceName(name, path);
  if (errs.length > 0) return errs;
  if (!name.includes('/')) {
    if (!STANDARD_CONTAINER_RESOURCES.has(name) && !isHugePages(name)) return [invalid(path, name, 'must be a standard resource for containers')];
  } else if (!isNative(name) && !isExtendedResourceName(name)) {
    return [invalid(path, name, "doesn't follow extended resource name standard")];
  }
  return [];
}

/** validatePodResourceName: a valid resource name that pods may set at pod level (cpu, memory, hugepages-*). */
function validatePodResourceName(name: string, path: Path): Cause[] {
  const errs = validateResourceName(name, path);
  if (errs.length > 0) return errs;
  if (!isSupportedPodLevelResource(name)) return [notSupported(path, name, SUPPORTED_POD_LEVEL_RESOURCES)];
  return [];
}

/** Parses a quantity field; a cause with Kubernetes' parse message when invalid. */
export function parseQuantityField(value: string, path: Path): Quantity | Cause {
  try {
    return parseQuantity(value);
  } catch (err) {
    if (err instanceof QuantityParseError) return invalid(path, value, err.message);
    throw err;
  }
}

/** ValidateResourceQuantityValue: parses, non-negative, whole for extended resources. */
export function validateResourceQuantity(name: string, value: string, path: Path): { errs: Cause[]; quantity?: Quantity } {
  const q = parseQuantityField(value, path);
  if (!('nanos' in q)) return { errs: [q] };
  const errs: Cause[] = [];
  if (q.sign() < 0) errs.push(invalid(path, value, NONNEGATIVE_MSG));
  if (isExtendedResourceName(name) && q.nanos % 1_000_000_000n !== 0n) errs.push(invalid(path, value, 'must be an integer'));
  return { errs, quantity: q };
}

type NameValidator = (name: string, path: Path) => Cause[];

/** ValidateContainerResourceRequirements; validateName is the pod-level one for spec.resources. */
export function validateResourceRequirements(
  req: ResourceRequirements | undefined,
  path: Path,
  validateName: NameValidator = validateContainerResourceName,
): Cause[] {
  const errs: Cause[] = [];
  const limPath = path.child('limits');
  const reqPath = path.child('requests');
  const limits = new Map<string, Quantity>();
  for (const [name, value] of Object.entries(req?.limits ?? {})) {
    const p = limPath.key(name);
    errs.push(...validateName(name, p));
    const r = validateResourceQuantity(name, value, p);
    errs.push(...r.errs);
    if (r.quantity) limits.set(name, r.quantity);
  }
  for (const [name, value] of Object.entries(req?.requests ?? {})) {
    const p = reqPath.key(name);
    errs.push(...validateName(name, p));
    const r = validateResourceQuantity(name, value, p);
    errs.push(...r.errs);
    if (!r.quantity) continue;
    const limit = limits.get(name);
    const hasLimit = Object.prototype.hasOwnProperty.call(req?.limits ?? {}, name);
    if (limit) {
      const c = r.quantity.cmp(limit);
      if (c !== 0 && !isOvercommitAllowed(name)) {
        errs.push(invalid(reqPath, r.quantity.toString(), `must be equal to ${name} limit of ${limit.toString()}`));
      } else if (c > 0) {
        errs.push(invalid(reqPath, r.quantity.toString(), `must be less than or equal to ${name} limit of ${limit.toString()}`));
      }
    } else if (!hasLimit && !isOvercommitAllowed(name)) {
      errs.push(required(limPath, 'Limit must be set for non overcommitable resources'));
    }
  }
  return errs;
}

/**
 * validatePodResources: spec.resources (PodLevelResources) holds only cpu,
 * memory and hugepages, each request within its limit, and is consistent
 * with the containers (validatePodResourceConsistency).
 */
export function validatePodResources(spec: PodSpec, path: Path): Cause[] {
  if (!spec.resources) return [];
  const { pids, rest } = splitPids(spec.resources);
  const errs = validatePodPids(spec.resources, pids, path);
  errs.push(...validateResourceRequirements(rest, path, validatePodResourceName));
  errs.push(...validatePodResourceConsistency(spec, rest, path));
  return errs;
}

/** spec.resources without pids, which is not a compute resource and has rules of its own (validatePodPids). */
function splitPids(res: ResourceRequirements): { pids: string | undefined; rest: ResourceRequirements } {
  const without = (list: Readonly<Record<string, string>> | undefined): Record<string, string> =>
    Object.fromEntries(Object.entries(list ?? {}).filter(([name]) => name !== POD_PIDS_RESOURCE));
  return { pids: res.limits?.[POD_PIDS_RESOURCE], rest: { ...res, limits: without(res.limits), requests: without(res.requests) } };
}

/**
 * KEP-6063 Per-Pod PID Limit: spec.resources.limits.pids is a positive
 * integer, and pids is a limit only (no request: PIDs are not reserved or
 * scheduled on).
 */
function validatePodPids(res: ResourceRequirements, pids: string | undefined, path: Path): Cause[] {
  const errs: Cause[] = [];
  if (pids !== undefined) {
    const msgs = podPidsLimitErrors(pids);
    if (msgs.length > 0) errs.push(invalid(path.child('limits').key(POD_PIDS_RESOURCE), pids, msgs.join('; ')));
  }
  if (res.requests?.[POD_PIDS_RESOURCE] !== undefined) {
    errs.push(forbidden(path.child('requests').key(POD_PIDS_RESOURCE), 'pids may only be set as a limit, not a request'));
  }
  return errs;
}

function parsedList(list: Readonly<Record<string, string>> | undefined): Map<string, Quantity> {
  const out = new Map<string, Quantity>();
  for (const [name, value] of Object.entries(list ?? {})) {
    try {
      out.set(name, parseQuantity(value));
    } catch {
      // An unparsable value was already reported by validateResourceRequirements.
    }
  }
  return out;
}

const byName = <T>(m: Map<string, T>): Array<[string, T]> => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/**
 * Kubernetes' validatePodResourceConsistency: a pod-level request is at
 * least the containers' aggregate request, a pod-level hugepages limit at
 * least their aggregate limit, and no container limit exceeds the pod's.
 * (Kubernetes builds the container path under spec.resources; so does tsk,
 * so the messages match.)
 */
function validatePodResourceConsistency(spec: PodSpec, res: ResourceRequirements, path: Path): Cause[] {
  const errs: Cause[] = [];
  const podRequests = parsedList(res.requests);
  const podLimits = parsedList(res.limits);
  for (const [name, aggr] of byName(aggregateContainerRequests(spec))) {
    const req = podRequests.get(name);
    if (req && aggr.cmp(req) > 0) {
      errs.push(
        invalid(path.child('requests').key(name), req.toString(), `must be greater than or equal to aggregate container requests of ${aggr.toString()}`),
      );
    }
  }
  for (const [name, aggr] of byName(aggregateContainerLimits(spec))) {
    const lim = podLimits.get(name);
    if (isHugePages(name) && lim && aggr.cmp(lim) > 0) {
      errs.push(invalid(path.child('limits').key(name), lim.toString(), `must be greater than or equal to aggregate container limits of ${aggr.toString()}`));
    }
  }
  (spec.containers ?? []).forEach((c, i) => {
    for (const [name, lim] of byName(parsedList(c.resources?.limits))) {
      const podLim = podLimits.get(name);
      if (podLim && lim.cmp(podLim) > 0) {
        errs.push(
          invalid(
            path.child('containers').index(i).key(name).child('limits'),
            lim.toString(),
            `must be less than or equal to pod limits of ${podLim.toString()}`,
          ),
        );
      }
    }
  });
  return errs;
}
