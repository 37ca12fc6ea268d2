// Delete propagation (Kubernetes' DeleteOptions.propagationPolicy and the
// registry's deletionFinalizersForGarbageCollection): the API server only
// marks the object; the garbage collector does the work.
//  - Orphan: the "orphan" finalizer holds the object until the GC has
//    removed it from its dependents' ownerReferences.
//  - Foreground: the "foregroundDeletion" finalizer holds it until the GC has
//    deleted the dependents that block their owner's deletion.
//  - Background (the default): the object goes at once; the GC deletes the
//    dependents afterwards.
// With no policy given, the finalizers the object already has decide (a
// second delete does not undo an Orphan or Foreground delete in progress).

import { InvalidError } from '../../api/errors';
import type { KindName } from '../../api/kinds';
import { notSupported, Path } from '../validation/field';

export const ORPHAN_FINALIZER = 'orphan';
export const FOREGROUND_FINALIZER = 'foregroundDeletion';

export type PropagationPolicy = 'Orphan' | 'Background' | 'Foreground';
const POLICIES: readonly string[] = ['Foreground', 'Background', 'Orphan'];

/** The request's policy; undefined when unset (""). An unknown one is an InvalidError naming the field. */
export function parsePropagationPolicy(kind: KindName, name: string, value: string | undefined): PropagationPolicy | undefined {
  if (value === undefined || value === '') return undefined;
  if (POLICIES.includes(value)) return value as PropagationPolicy;
  throw new InvalidError(kind, name, [notSupported(Path.root('propagationPolicy'), value, [...POLICIES, 'nil'])]);
}

/** The object's finalizers after a delete with `policy`: the GC's two swapped as the policy says, the others kept in order. */
export function finalizersForDelete(current: readonly string[], policy: PropagationPolicy | undefined): string[] {
  const orphan = policy === undefined ? current.includes(ORPHAN_FINALIZER) : policy === 'Orphan';
  const foreground = policy === undefined ? !orphan && current.includes(FOREGROUND_FINALIZER) : policy === 'Foreground';
  const next = current.filter((f) => f !== ORPHAN_FINALIZER && f !== FOREGROUND_FINALIZER);
  if (orphan) next.push(ORPHAN_FINALIZER);
  if (foreground) next.push(FOREGROUND_FINALIZER);
  return next;
}

/** The same set of finalizers (order does not matter, as in Kubernetes' comparison). */
export function sameFinalizers(a: readonly string[], b: readonly string[]): boolean {
  const sa = new Set(a);
  const sb = new Set(b);
  return sa.size === sb.size && [...sa].every((f) => sb.has(f));
}
