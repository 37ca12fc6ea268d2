// Whether a toleration tolerates a taint: Kubernetes' Toleration.ToleratesTaint
// (staging/src/k8s.io/api/core/v1/toleration.go), the one copy used by the
// scheduler's TaintToleration and NodeUnschedulable filters, the node
// lifecycle controller's NoExecute eviction and everything else that matches
// tolerations against taints. Pure.
//
// The effect must match unless the toleration leaves it empty; the key must
// match unless the toleration leaves it empty (an empty key with Exists
// tolerates every taint). Exists ignores the value, Equal (the default)
// compares it, and the threshold operators of KEP-5471 compare both values
// as decimal integers: Gt tolerates a taint whose value is greater than the
// toleration's, Lt one whose value is less; when either value is not such an
// integer the toleration does not match.

import type { Pod, Taint, Toleration } from './gen/tsk/v1/core';

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);
/** Canonical decimal form: an optional '-', no leading zeros, no '+', no "-0". */
const CANONICAL_INTEGER = /^(0|-?[1-9][0-9]*)$/;

/**
 * Kubernetes' content.IsDecimalInteger: the reasons `value` is not a decimal
 * integer in canonical form that fits in an int64; empty when it is one.
 */
export function decimalIntegerErrors(value: string): string[] {
  if (!CANONICAL_INTEGER.test(value)) {
    return ["must be a valid decimal integer in canonical form (an optional '-' followed by digits, without leading zeros)"];
  }
  const n = BigInt(value);
  if (n > INT64_MAX || n < INT64_MIN) return ['must fit in a 64-bit signed integer'];
  return [];
}

/** The value as a bigint when it is a canonical int64 decimal integer, else undefined. */
export function parseDecimalInteger(value: string): bigint | undefined {
  return decimalIntegerErrors(value).length === 0 ? BigInt(value) : undefined;
}

/** Gt/Lt: both values canonical integers, the taint's above (Gt) or below (Lt) the toleration's. */
function compareThreshold(operator: 'Gt' | 'Lt', tolerationValue: string, taintValue: string): boolean {
  const threshold = parseDecimalInteger(tolerationValue);
  const actual = parseDecimalInteger(taintValue);
  if (threshold === undefined || actual === undefined) return false;
  return operator === 'Gt' ? actual > threshold : actual < threshold;
}

/** Toleration.ToleratesTaint. */
export function toleratesTaint(toleration: Toleration, taint: Taint): boolean {
  if (toleration.effect && toleration.effect !== taint.effect) return false;
  if (toleration.key && toleration.key !== (taint.key ?? '')) return false;
  const operator = toleration.operator || 'Equal';
  switch (operator) {
    case 'Exists':
      return true;
    case 'Equal':
      return (toleration.value ?? '') === (taint.value ?? '');
    case 'Gt':
    case 'Lt':
      return compareThreshold(operator, toleration.value ?? '', taint.value ?? '');
    default:
      return false;
  }
}

/** Whether one of the tolerations tolerates the taint (TolerationsTolerateTaint). */
export function tolerationsTolerateTaint(tolerations: readonly Toleration[], taint: Taint): boolean {
  return tolerations.some((t) => toleratesTaint(t, taint));
}

/** Whether one of the pod's tolerations tolerates the taint. */
export function podToleratesTaint(pod: Pod, taint: Taint): boolean {
  return tolerationsTolerateTaint(pod.spec?.tolerations ?? [], taint);
}
