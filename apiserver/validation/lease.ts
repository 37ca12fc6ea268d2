// Validation of coordination.k8s.io/v1 Leases, as Kubernetes' ValidateLease
// (pkg/apis/coordination/validation): a DNS-subdomain name, a positive
// leaseDurationSeconds, non-negative leaseTransitions, a known or qualified
// strategy, and a preferredHolder only beside a strategy. holderIdentity is
// free-form. The two times must be RFC 3339 (Kubernetes refuses them when
// decoding a MicroTime; tsk's proto carries them as strings).

import type { Cause } from '../../api/errors';
import type { Lease, LeaseSpec } from '../../api/gen/tsk/v1/core';
import { isQualifiedName } from '../../api/labels';
import { parseRfc3339 } from '../../util/time';
import { forbidden, invalid, invalidEach, notSupported, Path } from './field';
import { nameIsDNSSubdomain, validateObjectMeta, validateObjectMetaUpdate } from './meta';

/** Kubernetes' validLeaseStrategies: the strategies without a domain prefix. */
export const LEASE_STRATEGIES = ['OldestEmulationVersion'] as const;

function validateStrategy(strategy: string, path: Path): Cause[] {
  if (!strategy.includes('/')) {
    return (LEASE_STRATEGIES as readonly string[]).includes(strategy) ? [] : [notSupported(path, strategy, LEASE_STRATEGIES)];
  }
  return invalidEach(path, strategy, isQualifiedName(strategy));
}

function validateMicroTime(value: string | undefined, path: Path): Cause[] {
  if (!value || parseRfc3339(value) !== undefined) return [];
  return [invalid(path, value, 'must be an RFC 3339 time, e.g. "2006-01-02T15:04:05.000000Z"')];
}

export function validateLeaseSpec(spec: LeaseSpec | undefined, path: Path): Cause[] {
  const errs: Cause[] = [];
  const s = spec ?? {};
  if (s.leaseDurationSeconds !== undefined && s.leaseDurationSeconds <= 0) {
    errs.push(invalid(path.child('leaseDurationSeconds'), s.leaseDurationSeconds, 'must be greater than 0'));
  }
  if (s.leaseTransitions !== undefined && s.leaseTransitions < 0) {
    errs.push(invalid(path.child('leaseTransitions'), s.leaseTransitions, 'must be greater than or equal to 0'));
  }
  if (s.strategy) errs.push(...validateStrategy(s.strategy, path.child('strategy')));
  if (s.preferredHolder && !s.strategy) errs.push(forbidden(path.child('preferredHolder'), 'may only be specified if `strategy` is defined'));
  errs.push(...validateMicroTime(s.acquireTime, path.child('acquireTime')), ...validateMicroTime(s.renewTime, path.child('renewTime')));
  return errs;
}

export function validateLease(lease: Lease): Cause[] {
  return [...validateObjectMeta(lease.metadata, true, nameIsDNSSubdomain, Path.root('metadata')), ...validateLeaseSpec(lease.spec, Path.root('spec'))];
}

export function validateLeaseUpdate(lease: Lease, old: Lease): Cause[] {
  return [...validateObjectMetaUpdate(lease.metadata, old.metadata, Path.root('metadata')), ...validateLeaseSpec(lease.spec, Path.root('spec'))];
}
