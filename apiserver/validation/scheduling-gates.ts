// Kubernetes' rules for spec.schedulingGates: qualified, unique names; a
// pod created with gates has no nodeName yet; an update may only remove
// gates (KEP-3521: whoever holds a gate lifts it, nobody adds one later).

import type { Cause } from '../../api/errors';
import type { PodSchedulingGate } from '../../api/gen/tsk/v1/core';
import { isQualifiedName } from '../../api/labels';
import { duplicate, forbidden, invalidEach, type Path } from './field';

/** Kubernetes' validateSchedulingGates (part of ValidatePodSpec). */
export function validateSchedulingGates(gates: readonly PodSchedulingGate[], path: Path): Cause[] {
  const errs: Cause[] = [];
  const seen = new Set<string>();
  gates.forEach((gate, i) => {
    const name = gate.name ?? '';
    errs.push(...invalidEach(path.index(i).child('name'), name, isQualifiedName(name)));
    if (seen.has(name)) errs.push(duplicate(path.index(i), name));
    seen.add(name);
  });
  return errs;
}

/** On create: a gated pod cannot already be bound. */
export function validateGatedNodeName(gates: readonly PodSchedulingGate[], nodeName: string | undefined, path: Path): Cause[] {
  return gates.length > 0 && nodeName ? [forbidden(path, 'cannot be set until all schedulingGates have been cleared')] : [];
}

/** Kubernetes' validateOnlyDeletedSchedulingGates: every gate of the update was already there. */
export function validateOnlyDeletedSchedulingGates(next: readonly PodSchedulingGate[], old: readonly PodSchedulingGate[], path: Path): Cause[] {
  const had = new Set(old.map((g) => g.name ?? ''));
  return next.flatMap((g, i) =>
    had.has(g.name ?? '') ? [] : [forbidden(path.index(i).child('name'), `only deletion is allowed, but found new scheduling gate '${g.name ?? ''}'`)],
  );
}
